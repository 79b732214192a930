import { comparable, readmeBlocks, runSamples } from './readme-sample';

// The README's "Check your setup" shows real output: the same commands, run
// against the fakes now, print the same lines (ids, SIDs, times and the
// incident code aside; Twilio's callbacks arrive in their own order, so each
// block is compared as a set of lines).
test("README's Check your setup shows what the commands print", async () => {
  const { blocks } = await runSamples();
  const readme = readmeBlocks();
  expect(readme).toHaveLength(blocks.length);
  const lines = (block: string) => block.split('\n').map(comparable).sort();
  blocks.forEach((block, i) => expect(lines(readme[i])).toEqual(lines(block)));
}, 120_000);
