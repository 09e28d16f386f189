/**
 * @module cloud/stage-functions
 * Cloud Functions builds each function from its own source folder with `npm install`, where
 * the monorepo's workspace packages (@bucketml/*) do not exist. Staging makes each function
 * self-contained: its built code, every internal package it reaches copied (built) under
 * vendor/ and referenced as file: dependencies, and the external dependencies they declare.
 * Run `npm run build` first: only dist/ is copied.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

interface PackageJson {
  name: string;
  version?: string;
  type?: string;
  main?: string;
  exports?: unknown;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const INTERNAL = '@bucketml/';

async function readPackage(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Internal package name → its folder, for every workspace package (folders with a package.json). */
async function workspacePackages(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const group of ['packages', 'functions']) {
    for (const entry of await readdir(join(root, group))) {
      const dir = join(root, group, entry);
      if (existsSync(join(dir, 'package.json'))) found.set((await readPackage(dir)).name, dir);
    }
  }
  return found;
}

/** The monorepo this code runs from (the nearest folder up whose package.json has workspaces). */
export function repoRoot(from = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      'workspaces' in (JSON.parse(readFileSync(manifest, 'utf8')) as object)
    )
      return dir;
    if (dirname(dir) === dir)
      throw new Error(
        `no workspace root above ${from}: stage-functions runs from the BucketML repository`,
      );
  }
}

const internalDeps = (pkg: PackageJson) =>
  Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith(INTERNAL));
const vendorName = (name: string) => name.slice(INTERNAL.length);

/** Rewrites a manifest for the staged tree: internal dependencies become file: paths. */
function stagedManifest(pkg: PackageJson, fileDep: (name: string) => string): PackageJson {
  const dependencies = Object.fromEntries(
    Object.entries(pkg.dependencies ?? {}).map(([d, v]) => [
      d,
      d.startsWith(INTERNAL) ? fileDep(d) : v,
    ]),
  );
  return {
    name: pkg.name,
    version: pkg.version ?? '0.0.0',
    type: pkg.type,
    main: pkg.main,
    exports: pkg.exports,
    dependencies,
    optionalDependencies: pkg.optionalDependencies,
  };
}

export async function stageFunction(root: string, fnName: string, outDir: string): Promise<string> {
  const packages = await workspacePackages(root);
  const fnDir = join(root, 'functions', fnName);
  const fn = await readPackage(fnDir);
  const target = resolve(outDir, fnName);
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });

  // Every internal package the function reaches, transitively.
  const reached = new Set<string>();
  const visit = async (pkg: PackageJson) => {
    for (const dep of internalDeps(pkg)) {
      if (reached.has(dep)) continue;
      if (!packages.has(dep))
        throw new Error(`${pkg.name} depends on ${dep}, which is not a workspace package`);
      reached.add(dep);
      await visit(await readPackage(packages.get(dep)!));
    }
  };
  await visit(fn);

  for (const dep of reached) {
    const dir = packages.get(dep)!;
    const vendored = join(target, 'vendor', vendorName(dep));
    await cp(join(dir, 'dist'), join(vendored, 'dist'), {
      recursive: true,
      filter: (src) => !src.endsWith('.tsbuildinfo'),
    });
    await writeFile(
      join(vendored, 'package.json'),
      JSON.stringify(
        stagedManifest(await readPackage(dir), (d) => `file:../${vendorName(d)}`),
        null,
        2,
      ) + '\n',
    );
  }
  await cp(join(fnDir, 'dist'), join(target, 'dist'), {
    recursive: true,
    filter: (src) => !src.endsWith('.tsbuildinfo'),
  });
  // npm installs file: dependencies of file: dependencies only if the top level lists them too.
  const manifest = stagedManifest(fn, (d) => `file:vendor/${vendorName(d)}`);
  for (const dep of reached) manifest.dependencies![dep] = `file:vendor/${vendorName(dep)}`;
  manifest.dependencies = Object.fromEntries(
    Object.entries(manifest.dependencies!).sort(([a], [b]) => a.localeCompare(b)),
  );
  await writeFile(
    join(target, 'package.json'),
    JSON.stringify({ ...manifest, engines: { node: '20' } }, null, 2) + '\n',
  );
  return target;
}
