import { bulkRenewalBodySchema, bulkRenewalResultSchema, createGrantBodySchema, grantViewSchema, memberGrantsViewSchema, memberGrantViewSchema } from '../../src/dtos/grant.dto';
import { waitTicketViewSchema } from '../../src/dtos/waiting.dto';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The hot routes are validated and serialised from JSON schemas (src/dtos), the OpenAPI document is
 * built from the DTO classes: this checks they describe the same fields, and that the document still
 * names the body and answers of every hot route.
 */
describe('route schemas and the OpenAPI document', () => {
  let t: TestApp;
  let doc: any;
  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
  });
  afterAll(() => t.close());

  const shape = (schema: any) => ({
    fields: Object.keys(schema.properties).sort(),
    required: [...(schema.required ?? [])].sort(),
    patterns: Object.fromEntries(Object.entries<any>(schema.properties).filter(([, p]) => p.pattern ?? p.items?.pattern).map(([k, p]) => [k, p.pattern ?? p.items.pattern])),
  });
  const component = (name: string) => doc.components.schemas[name];

  it.each([
    ['CreateGrantDto', createGrantBodySchema],
    ['BulkRenewalDto', bulkRenewalBodySchema],
    ['GrantView', grantViewSchema],
    ['BulkRenewalResultView', bulkRenewalResultSchema],
    ['WaitTicketView', waitTicketViewSchema],
    ['MemberGrantsView', memberGrantsViewSchema],
    ['MemberGrantView', memberGrantViewSchema],
  ])('%s: the same fields, required fields and patterns', (name, schema) => {
    const fromDoc = shape(component(name));
    const fromRoute = shape(schema);
    expect(fromRoute.fields).toEqual(fromDoc.fields);
    expect(fromRoute.required).toEqual(fromDoc.required);
    // The document may leave a pattern out; where it gives one, it is the route's.
    for (const [k, p] of Object.entries(fromDoc.patterns)) expect(fromRoute.patterns[k]).toBe(p);
  });

  it('names the bodies and answers of the hot routes', () => {
    const ref = (x: any) => x?.content?.['application/json']?.schema?.$ref;
    expect(ref(doc.paths['/v1/grants'].post.requestBody)).toBe('#/components/schemas/CreateGrantDto');
    expect(ref(doc.paths['/v1/grants'].post.responses['201'])).toBe('#/components/schemas/GrantView');
    expect(ref(doc.paths['/v1/grants'].post.responses['202'])).toBe('#/components/schemas/WaitTicketView');
    expect(ref(doc.paths['/v1/grants/{id}/heartbeat'].post.responses['200'])).toBe('#/components/schemas/GrantView');
    expect(ref(doc.paths['/v1/pools/{pool}/members/{member}/renewals'].post.requestBody)).toBe('#/components/schemas/BulkRenewalDto');
    expect(ref(doc.paths['/v1/waiting/{id}/check-in'].post.responses['200'])).toBe('#/components/schemas/WaitTicketView');
    expect(ref(doc.paths['/v1/pools/{pool}/members/{member}/grants'].get.responses['200'])).toBe('#/components/schemas/MemberGrantsView');
    expect(doc.components.schemas.MemberGrantsView.properties.grants.items.$ref).toBe('#/components/schemas/MemberGrantView');
  });

  it('serialises a grant with the route schema: every field, nothing more', async () => {
    const token = await t.token({ sub: 'schema-check' });
    const r = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: { pool: 'vpn-a' } });
    expect(r.statusCode).toBe(201);
    const g = r.json();
    expect(Object.keys(g).sort()).toEqual(expect.arrayContaining(grantViewSchema.required.slice().sort()));
    expect(typeof g.fencingToken).toBe('number');
    const hb = await t.app.inject({ method: 'POST', url: `/v1/grants/${g.id}/heartbeat`, headers: { authorization: `Bearer ${token}` } });
    expect(hb.json()).toMatchObject({ id: g.id, status: 'active', fencingToken: g.fencingToken });
  });
});
