import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every import specifier of every non-spec source file under `dir`. */
function importsUnder(dir: string): { file: string; specifier: string }[] {
  const found: { file: string; specifier: string }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.spec.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const source = readFileSync(path, 'utf8');
    for (const match of source.matchAll(/(?:from\s+|require\(|import\s*\(?)\s*'([^']+)'/g)) {
      found.push({ file: relative(__dirname, path), specifier: match[1] });
    }
  }
  return found;
}

describe('layering', () => {
  it('the core and the backends import nothing from Nest or prom-client', () => {
    const offending = [
      ...importsUnder(join(__dirname, 'core')),
      ...importsUnder(join(__dirname, 'backends')),
    ].filter(({ specifier }) => /^(@nestjs\/|prom-client|reflect-metadata)/.test(specifier));
    expect(offending).toEqual([]);
  });

  it('nothing imports Nest internals, and only the prometheus adapter imports prom-client', () => {
    const all = importsUnder(__dirname);
    expect(all.filter(({ specifier }) => /^@nestjs\/[^/]+\/.+/.test(specifier))).toEqual([]);
    expect(
      all.filter(
        ({ file, specifier }) => specifier === 'prom-client' && !file.startsWith('prometheus'),
      ),
    ).toEqual([]);
  });

  it('the package imports nothing outside itself but its dependencies', () => {
    const relativeOutside = importsUnder(__dirname).filter(
      ({ file, specifier }) =>
        specifier.startsWith('.') &&
        relative(__dirname, join(__dirname, file, '..', specifier)).startsWith('..'),
    );
    expect(relativeOutside).toEqual([]);
  });

  it('the check sees the imports it guards (it can fail)', () => {
    const nest = importsUnder(join(__dirname, 'nest')).map((i) => i.specifier);
    expect(nest).toContain('@nestjs/common');
    const prometheus = importsUnder(join(__dirname, 'prometheus')).map((i) => i.specifier);
    expect(prometheus).toContain('prom-client');
  });
});
