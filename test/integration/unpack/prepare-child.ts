/** Helper process for the concurrency test: prepares one image from blobs on disk, prints what it did. */
import fs from 'node:fs';
import path from 'node:path';
import { RealHost } from '../../../src/host/real-host.js';
import { OverlaySnapshotStore } from '../../../src/image/snapshots.js';
import type { ImageRecord } from '../../../src/image/types.js';

const [root, dir] = process.argv.slice(2) as [string, string];
const image = JSON.parse(fs.readFileSync(path.join(dir, 'image.json'), 'utf8')) as ImageRecord;
const opened: string[] = [];
const blobs = {
  openBlob(digest: string) {
    opened.push(digest);
    return fs.createReadStream(path.join(dir, digest.slice(7)));
  },
};
const lowers = await new OverlaySnapshotStore(root, new RealHost()).prepare(image, blobs);
process.stdout.write(JSON.stringify({ lowers, opened }));
