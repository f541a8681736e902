// Build the block's AMD modules: moodle-block/amd/src/*.js -> moodle-block/amd/build/<name>.min.js (+ .map).
//
// Each ES module becomes an AMD module named `block_dockchat/<name>`; relative imports (`./x.js`) are
// mapped to `block_dockchat/x`, Moodle's own (`core/...`) stay as they are. Minified with terser, with a
// source map pointing at the source, like Moodle's grunt build.
import {readdirSync, readFileSync, writeFileSync, mkdirSync} from 'node:fs';
import {dirname, join, basename, relative, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {transformAsync} from '@babel/core';
import {minify} from 'terser';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'src');
// An optional argument writes elsewhere (tests compare a fresh build with the committed one).
const buildDir = process.argv[2] ? resolve(process.argv[2]) : join(here, 'build');
const COMPONENT = 'block_dockchat';

/** Babel plugin: './x.js' -> 'block_dockchat/x' in import/export sources. */
const mapImports = () => ({
    visitor: {
        'ImportDeclaration|ExportNamedDeclaration|ExportAllDeclaration'(path) {
            const source = path.node.source;
            if (source && /^\.\/[\w-]+\.js$/.test(source.value)) {
                source.value = COMPONENT + '/' + source.value.slice(2, -3);
            }
        },
    },
});

mkdirSync(buildDir, {recursive: true});
const files = readdirSync(srcDir).filter((f) => f.endsWith('.js')).sort();
for (const file of files) {
    const name = basename(file, '.js');
    const path = join(srcDir, file);
    const code = readFileSync(path, 'utf8');
    const result = await transformAsync(code, {
        filename: path,
        sourceFileName: relative(join(here, 'build'), path),
        babelrc: false,
        configFile: false,
        sourceMaps: true,
        moduleIds: true,
        moduleId: `${COMPONENT}/${name}`,
        plugins: [mapImports, ['@babel/plugin-transform-modules-amd', {}]],
    });
    const min = await minify(result.code, {
        sourceMap: {content: result.map, url: `${name}.min.js.map`},
        compress: {},
        mangle: true,
        format: {comments: false},
    });
    writeFileSync(join(buildDir, `${name}.min.js`), min.code);
    writeFileSync(join(buildDir, `${name}.min.js.map`), min.map);
    process.stdout.write(`built ${COMPONENT}/${name}\n`);
}
