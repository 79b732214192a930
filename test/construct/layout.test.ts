import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';
import * as ts from 'typescript';

// lib/ is loaded by consumers' CDK apps: it may import only its peer dependencies
// and Node's own modules, and its constructor stays a readable list of builder calls.
const LIB = path.join(__dirname, '..', '..', 'lib');
const PEERS = ['aws-cdk-lib', 'constructs'];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Every module specifier a file imports or re-exports. */
function importsOf(source: ts.SourceFile): string[] {
  return source.statements.flatMap((statement) =>
    (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
      ? [statement.moduleSpecifier.text]
      : [],
  );
}

// lib/cli/ is the operator tool's source: bundled with its AWS SDK clients into
// assets/cli/ (scripts/bundle.mjs) and never loaded by a consumer's CDK app.
const CLI = path.join(LIB, 'cli');

test('lib/ imports only aws-cdk-lib, constructs, Node built-ins and its own modules', () => {
  const files = sources(LIB).filter((file) => !file.startsWith(CLI + path.sep));
  expect(files.some((f) => f.includes(`${path.sep}private${path.sep}`))).toBe(true);
  const foreign = files.flatMap((file) =>
    importsOf(parse(file))
      .filter((spec) => !spec.startsWith('.') && !builtinModules.includes(spec.replace(/^node:/, '')) && !PEERS.includes(spec.split('/')[0]))
      .map((spec) => `${path.relative(LIB, file)} imports ${spec}`),
  );
  expect(foreign).toEqual([]);
});

test('lib/index.ts exports nothing from lib/private/', () => {
  expect(importsOf(parse(path.join(LIB, 'index.ts'))).filter((spec) => spec.includes('private'))).toEqual([]);
});

test("the construct's constructor fits one screen: its resources are built in lib/private/", () => {
  const source = parse(path.join(LIB, 'twilio-messaging.ts'));
  const construct = source.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === 'TwilioMessaging')!;
  const constructor = construct.members.find(ts.isConstructorDeclaration)!;
  const line = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  expect(line(constructor.getEnd()) - line(constructor.getStart()) + 1).toBeLessThanOrEqual(120);
});

test('nothing the construct loads imports the operator tool (lib/cli/)', () => {
  const library = sources(LIB).filter((file) => !file.startsWith(CLI + path.sep));
  const intoCli = library.flatMap((file) =>
    importsOf(parse(file))
      .filter((spec) => spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(CLI))
      .map((spec) => `${path.relative(LIB, file)} imports ${spec}`),
  );
  expect(intoCli).toEqual([]);
});
