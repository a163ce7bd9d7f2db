import { instrument, keysOf } from './shell-blocks';

describe('doc-test instrumentation', () => {
  it('marks the command an answer comment belongs to, across continuation lines and multi-line JSON bodies', () => {
    const { script, expectations } = instrument(
      [`curl -s -XPOST $B/v1/grants \\`, `  -d '{`, `  "pool": "x"`, `}'`, `# 201 {"id":"x.1","pool":"x",`, `#      "member":"m"}`, `echo done`].join('\n'),
      4,
    );
    expect(script.split('\n')).toEqual([`DOC_EXPECT=4:201`, `curl -s -XPOST $B/v1/grants \\`, `  -d '{`, `  "pool": "x"`, `}'`, `DOC_EXPECT=`, `echo done`]);
    expect(expectations).toEqual([{ status: 201, keys: ['id', 'pool', 'member'], sample: '{"id":"x.1","pool":"x", "member":"m"}' }]);
  });

  it('finds keys at any depth', () => {
    expect([...keysOf({ a: 1, b: [{ c: { d: null } }] })]).toEqual(['a', 'b', 'c', 'd']);
  });
});
