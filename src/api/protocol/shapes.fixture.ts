// A hand-made shape tree with every kind of member, for the document protocols' codec tests.
import type { Member, Shape } from '../../models/index.js';

const m = (name: string, shape: Shape, extra: Partial<Member> = {}): Member => ({ name, shape, ...extra });
const s = (type: Shape['type']): Shape => ({ type });

export const Inner: Shape = {
  type: 'structure',
  members: { Name: m('Name', s('string')), Values: m('Values', { type: 'list', member: m('member', s('double')) }) },
  required: ['Name'],
};

export const Root: Shape = {
  type: 'structure',
  members: {
    When: m('When', s('timestamp')),
    Iso: m('Iso', s('timestamp'), { timestampFormat: 'iso8601' }),
    Count: m('Count', s('integer')),
    Big: m('Big', s('long')),
    Ratio: m('Ratio', s('double')),
    Small: m('Small', s('float')),
    Flag: m('Flag', s('boolean')),
    Data: m('Data', s('blob')),
    Name: m('Name', s('string')),
    Items: m('Items', { type: 'list', member: m('member', Inner) }),
    Tags: m('Tags', { type: 'map', key: m('key', s('string')), value: m('value', s('string')) }),
    Nested: m('Nested', Inner),
    Grid: m('Grid', { type: 'map', key: m('key', s('string')), value: m('value', { type: 'list', member: m('member', Inner) }) }),
  },
  required: ['Count'],
};

/** A value of Root using every member, as handlers see it. */
export const full = () => ({
  When: new Date('2024-12-03T08:00:00.500Z'),
  Iso: new Date('2024-12-03T08:00:01.000Z'),
  Count: -42,
  Big: 2 ** 40 + 1,
  Ratio: 0.1,
  Small: 1.5,
  Flag: false,
  Data: Buffer.from([0, 1, 2, 250, 255]),
  Name: 'héllo "wörld" \n',
  Items: [{ Name: 'a', Values: [1, 2.5, -0.25] }, { Name: 'b' }],
  Tags: { env: 'prod', 'with space': '' },
  Nested: { Name: 'n', Values: [] },
  Grid: { row: [{ Name: 'c', Values: [1e300] }] },
});
