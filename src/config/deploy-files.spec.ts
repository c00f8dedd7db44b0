import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * No Docker engine runs in CI, so the deployment files are checked as data: the invariants an
 * operator relies on (pinned images, the runtime Node, which probe does what) are asserted here
 * and cannot silently regress.
 */
const ROOT = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  [key: string]: unknown;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const dockerfile = read('Dockerfile');

/** `${VAR:-default}` stands for its default: what runs when nobody overrides it. */
function effectiveImage(image: string): string {
  return image.replace(/^\$\{\w+:-(.+)\}$/, '$1');
}

/**
 * A registry image tag with a full version (a variant suffix such as -alpine is fine): x.y.z,
 * or x.y for PostgreSQL, whose releases have had two parts since version 10.
 */
function isPinned(image: string): boolean {
  const full = image.startsWith('postgres:') ? /^postgres:\d+\.\d+-/ : /:\d+\.\d+\.\d+(-[\w.]+)?$/;
  return full.test(image);
}

describe('docker-compose.yml and Dockerfile', () => {
  it('pins every third-party image to a full version', () => {
    const images = Object.entries(compose.services)
      .filter(([, service]) => service.image !== undefined && service.build === undefined)
      .filter(([, service]) => !service.image!.startsWith('couponlock:'))
      .map(([name, service]) => ({ name, image: effectiveImage(service.image!) }));
    expect(images.map((entry) => entry.name).sort()).toEqual(['k6', 'nginx', 'postgres', 'redis']);
    for (const entry of images) {
      expect({ ...entry, pinned: isPinned(entry.image) }).toEqual({ ...entry, pinned: true });
    }
  });

  it('builds on a pinned Node 24, the same version CI tests with', () => {
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(image).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/);
    // Every stage starts from that one argument.
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from).toBe('${NODE_IMAGE}');

    const ci = /^NODE24_VERSION=(\S+)$/m.exec(read('.ci/run'))?.[1];
    expect(`node:${ci}-bookworm-slim`).toBe(image);
  });

  it('declares Node 20 and 24 in engines, for the app and the lock package', () => {
    for (const path of ['package.json', 'packages/lock/package.json']) {
      const engines = (JSON.parse(read(path)) as { engines: { node: string } }).engines.node;
      expect({ path, engines }).toEqual({ path, engines: '^20.19.0 || ^24.0.0' });
    }
  });
});
