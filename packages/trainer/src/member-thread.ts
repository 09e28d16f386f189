/**
 * @module member-thread
 * A worker thread that trains one member of an ensemble (train.ts's trainMembers) and posts
 * its result back: the fused engine, no TensorFlow.js.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trainMemberOf, type MemberThreadInput } from './train.js';

parentPort!.postMessage(trainMemberOf(workerData as MemberThreadInput));
