import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createExampleApp } from '../../bin/example';

// The example app's template against a committed baseline: every logical ID keeps
// its type and every property (asset hashes masked, as in the snapshot). Logical IDs
// come from construct IDs and scopes, so this is what proves that a refactoring of
// lib/ moved no resource (CloudFormation would replace it) and changed no property.
//
// The baseline is plain JSON, written from the code before lib/twilio-messaging.ts
// was split into lib/private/ builders. For an intended infrastructure change,
// rewrite it and say in the commit what changed:
//   UPDATE_TEMPLATE_BASELINE=1 npx jest test/construct/template-baseline.test.ts
const BASELINE = path.join(__dirname, 'example-template.baseline.json');
const ASSET_HASH = /[0-9a-f]{64}/g;

interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: unknown }>;
  Outputs: Record<string, unknown>;
  [section: string]: unknown;
}

/** The template with every asset hash replaced by a marker: they change with every handler edit. */
function masked(template: unknown): CfnTemplate {
  return JSON.parse(JSON.stringify(template).replace(ASSET_HASH, '[ASSET HASH]'));
}

let outdir: string;
let current: CfnTemplate;
const updating = process.env.UPDATE_TEMPLATE_BASELINE === '1';
const committed: CfnTemplate = updating && !fs.existsSync(BASELINE) ? { Resources: {}, Outputs: {} } : JSON.parse(fs.readFileSync(BASELINE, 'utf8'));
let baseline = committed;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'template-baseline-'));
  current = masked(createExampleApp({ outdir }).synth().getStackByName('TwilioMessagingExample').template);
  if (updating) {
    fs.writeFileSync(BASELINE, `${JSON.stringify(current, null, 2)}\n`);
    baseline = current;
  }
});

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

test('the baseline is masked and holds the whole construct', () => {
  expect(JSON.stringify(baseline)).not.toMatch(ASSET_HASH);
  expect(Object.keys(baseline.Resources).length).toBeGreaterThan(40);
});

test('the same logical IDs: none added, none gone', () => {
  expect(Object.keys(current.Resources).sort()).toEqual(Object.keys(baseline.Resources).sort());
});

test.each(Object.keys(committed.Resources).sort())('%s keeps its type, properties, policies and dependencies', (logicalId) => {
  expect(current.Resources[logicalId]).toEqual(baseline.Resources[logicalId]);
});

test('the same outputs, parameters, rules and description', () => {
  const { Resources: _current, ...currentRest } = current;
  const { Resources: _baseline, ...baselineRest } = baseline;
  expect(currentRest).toEqual(baselineRest);
  expect(Object.keys(current.Outputs).length).toBeGreaterThan(0);
});
