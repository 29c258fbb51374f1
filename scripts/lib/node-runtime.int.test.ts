/**
 * The runtime we ship is the runtime we test: the images' Node major (the Dockerfile's NODE_IMAGE)
 * is the one `npm test` runs on, and scripts/lib/node-runtime.sh brings it when the system Node is
 * older (this machine's is 20).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '@platform/testkit';

const script = readFileSync(join(ROOT, 'scripts', 'lib', 'node-runtime.sh'), 'utf8');
const pinned = /^NODE_RUNTIME_VERSION=(\d+)\.(\d+)\.(\d+)$/m.exec(script);
// The one Dockerfile of the three services; scripts/images/base.sh makes its local base from NODE_RUNTIME_VERSION itself.
const imageMajor = (() => {
  const m = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  return m ? Number(m[1]) : NaN;
})();

describe('node runtime', () => {
  it('the images, the local runtime and this test run agree on the Node major', () => {
    expect(pinned, 'NODE_RUNTIME_VERSION in node-runtime.sh').not.toBeNull();
    const major = Number(pinned![1]);
    expect(imageMajor).toBe(major);
    expect(Number(process.versions.node.split('.')[0]), `npm test runs on Node ${process.version}`).toBe(major);
  });

  it('on a machine whose Node is older, use_node_runtime puts the pinned Node first on the PATH', () => {
    // Only the system directories: there `node` is the machine's own (20 here).
    const out = execFileSync(
      'bash',
      [
        '-c',
        `source scripts/lib/node-runtime.sh && use_node_runtime "$PWD" >&2 && node --version && node -e 'console.log(process.execPath)'`,
      ],
      {
        cwd: ROOT,
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env['HOME'] ?? '/root' },
        encoding: 'utf8',
      },
    )
      .trim()
      .split('\n');
    expect(out[0]).toBe(`v${pinned![1]}.${pinned![2]}.${pinned![3]}`);
    expect(out[1]).toBe(join(ROOT, '.data', 'node', `${pinned![1]}.${pinned![2]}.${pinned![3]}`, 'bin', 'node'));
  });
});
