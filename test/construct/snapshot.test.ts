import { synth } from './helpers';

// The whole default template, asset hashes masked (test/support/asset-hash-serializer.js):
// a reviewer sees every infrastructure change as a snapshot diff.
test('default template snapshot', () => {
  expect(synth().template.toJSON()).toMatchSnapshot();
});

test('the snapshot is stable: two syntheses give the same template', () => {
  expect(JSON.stringify(synth().template.toJSON())).toBe(JSON.stringify(synth().template.toJSON()));
});
