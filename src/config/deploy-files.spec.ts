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
  healthcheck?: { test?: string[]; disable?: boolean };
  [key: string]: unknown;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const dockerfile = read('Dockerfile');
const nginx = read('deploy/nginx.conf');

/** The URL a healthcheck command fetches (node -e "fetch('...')" or wget ... URL). */
function probedUrl(test: readonly string[] | string): string | undefined {
  return /https?:\/\/[^'"\s]+/.exec(Array.isArray(test) ? test.join(' ') : String(test))?.[0];
}

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
    expect(images.map((entry) => entry.name).sort()).toEqual([
      'k6',
      'nginx',
      'postgres',
      'redis',
      'zookeeper',
    ]);
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

  it('restarts on liveness and routes on readiness', () => {
    // Liveness decides restarts: it must not depend on Redis or PostgreSQL.
    const dockerProbe = /^HEALTHCHECK[\s\S]*?CMD (.+)$/m.exec(dockerfile)?.[1] ?? '';
    expect(dockerProbe).toContain("'/health/live'");
    expect(probedUrl(compose.services.app.healthcheck!.test!)).toBe(
      'http://127.0.0.1:3000/health/live',
    );
    // nginx is healthy once a replica behind it is ready; k6 waits for that.
    expect(probedUrl(compose.services.nginx.healthcheck!.test!)).toBe(
      'http://127.0.0.1:8080/health/ready',
    );
    expect(compose.services.k6.depends_on).toEqual({ nginx: { condition: 'service_healthy' } });
  });

  it("keeps /metrics and /docs off nginx's public port", () => {
    const publicServer = nginx.slice(nginx.indexOf('listen 8080;'), nginx.indexOf('listen 8081;'));
    const blocked =
      /location ~ (\S+) \{\s*default_type application\/problem\+json;\s*return 404 /.exec(
        publicServer,
      );
    expect(blocked).not.toBeNull();
    // nginx regexes are PCRE; this one uses nothing JavaScript reads differently.
    const pattern = new RegExp(blocked![1]);
    for (const path of [
      '/metrics',
      '/metrics/',
      '/docs',
      '/docs/',
      '/docs/openapi.json',
      '/docs-json',
    ]) {
      expect({ path, blocked: pattern.test(path) }).toEqual({ path, blocked: true });
    }
    for (const path of [
      '/v1/coupons',
      '/health/ready',
      '/health/live',
      '/documents',
      '/metricsx',
    ]) {
      expect({ path, blocked: pattern.test(path) }).toEqual({ path, blocked: false });
    }
    // Published: the public port only.
    expect(compose.services.nginx.ports).toEqual(['8080:8080']);
  });

  describe('hardening', () => {
    const rawCompose = read('docker-compose.yml');
    const environmentOf = (name: string): Record<string, string> =>
      compose.services[name].environment as Record<string, string>;

    it('has no default secrets: API keys and the PostgreSQL password must be set', () => {
      expect(rawCompose).not.toMatch(/dev-(admin|storefront)-key/);
      const app = environmentOf('app');
      expect(app.ADMIN_API_KEYS).toMatch(/^\$\{ADMIN_API_KEYS:\?[^}]+\}$/);
      expect(app.STOREFRONT_API_KEYS).toMatch(/^\$\{STOREFRONT_API_KEYS:\?[^}]+\}$/);
      expect(app.DATABASE_URL).toBe(
        'postgres://couponlock:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/couponlock',
      );
      expect(environmentOf('postgres').POSTGRES_PASSWORD).toBe(
        '${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}',
      );
      // Every use of a secret variable in the file is a required one.
      for (const name of ['POSTGRES_PASSWORD', 'ADMIN_API_KEYS', 'STOREFRONT_API_KEYS']) {
        const uses = [...rawCompose.matchAll(new RegExp(`\\$\\{${name}(:?[-?])?`, 'g'))];
        expect(uses.length).toBeGreaterThan(0);
        for (const use of uses)
          expect({ name, use: use[0] }).toEqual({ name, use: `\${${name}:?` });
      }
      const k6 = environmentOf('k6');
      expect([k6.API_KEY, k6.ADMIN_API_KEY]).toEqual(['${API_KEY:-}', '${ADMIN_API_KEY:-}']);
    });

    it('builds the app image once and runs it for both replicas and the migrate job', () => {
      const built = Object.entries(compose.services).filter(([, service]) => service.build);
      expect(built.map(([name]) => name)).toEqual(['app']);
      expect(compose.services.app).toMatchObject({
        image: 'couponlock:local',
        build: { context: '.', target: 'runtime' },
        deploy: { replicas: 2 },
      });
      expect(compose.services.migrate).toMatchObject({
        image: 'couponlock:local',
        pull_policy: 'never',
      });
    });

    it('trusts exactly one proxy (nginx) for the client address', () => {
      expect(environmentOf('app').TRUST_PROXY).toBe('${TRUST_PROXY:-1}');
    });

    it('mounts the k6 results directory writable for the user k6 runs as', () => {
      const k6 = compose.services.k6;
      expect(k6.user).toBe('${K6_USER:-1000:1000}');
      expect(k6.volumes).toEqual(['./k6:/scripts:ro', './k6/results:/results']);
      expect(environmentOf('k6').RESULTS_DIR).toBe('/results');
    });

    it('installs dev dependencies in the build stage only, and runs no install scripts', () => {
      const stages = dockerfile.split(/^FROM /m).slice(1);
      const byName = Object.fromEntries(
        stages.map((stage) => [/^\S+ AS (\w+)/.exec(stage)?.[1] ?? '?', stage]),
      );
      expect(Object.keys(byName)).toEqual(['build', 'deps', 'runtime']);
      const installs = (stage: string): string[] =>
        [...stage.matchAll(/npm ci[^\n]*/g)].map((match) => match[0]);
      expect(installs(byName.build)).toEqual(['npm ci --ignore-scripts --no-audit --no-fund']);
      expect(installs(byName.deps)).toEqual([
        'npm ci --omit=dev --ignore-scripts --no-audit --no-fund',
      ]);
      // The runtime stage installs nothing: it copies production node_modules from deps.
      expect(installs(byName.runtime)).toEqual([]);
      expect(byName.runtime).toContain('COPY --from=deps /app/node_modules ./node_modules');
      expect(byName.runtime).not.toMatch(/COPY --from=build \/app\/node_modules/);
      expect(byName.runtime).toMatch(/^USER node$/m);
    });
  });
});
