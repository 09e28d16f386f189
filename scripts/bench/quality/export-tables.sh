#!/usr/bin/env bash
# Regenerates data/tables/<name>/{train,eval}.csv for `npm run bench -- quality` from real public
# data in Debian's R packages and npm's vega-datasets (see data/tables/README.md).
#
#   bash scripts/bench/quality/export-tables.sh [out dir, default data/tables]
#
# Installs what is missing with apt-get (as root; run `apt-get update` first on a new machine),
# fetches vega-datasets@3.2.1 with `npm pack` into a temporary folder, then runs export-tables.R.
# The output is deterministic: run it twice and the CSVs are byte-identical.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/data/tables}"
VEGA_VERSION=3.2.1
DEBS=(r-base-core r-cran-dplyr r-cran-cardata r-cran-jsonlite)

missing=()
for p in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "vega-datasets@$VEGA_VERSION" >/dev/null && tar xzf "vega-datasets-$VEGA_VERSION.tgz")
echo "R $(Rscript -e 'cat(as.character(getRversion()))'), dplyr $(Rscript -e 'cat(as.character(packageVersion("dplyr")))'), carData $(Rscript -e 'cat(as.character(packageVersion("carData")))'), vega-datasets $VEGA_VERSION" >&2
mkdir -p "$out"
Rscript "$here/export-tables.R" "$tmp/package" "$out"
