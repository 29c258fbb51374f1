import { expect, it } from 'vitest';
import { parsePrometheusText, select, total } from './prometheus-text.js';

const text = `# HELP platform_rpc_requests_total calls
# TYPE platform_rpc_requests_total counter
platform_rpc_requests_total{procedure="blocks.get",type="query",code="OK",service_name="knowledge"} 3
platform_rpc_requests_total{procedure="blocks.get",type="query",code="NOT_FOUND",service_name="knowledge"} 1
# UNIT platform_rpc_duration_seconds s
# TYPE platform_rpc_duration_seconds histogram
platform_rpc_duration_seconds_bucket{procedure="a\\"b",le="+Inf"} 4
platform_neo4j_pool_max 100
`;

it('reads samples with their labels (escapes undone), values (+Inf too) and family types', () => {
  const scrape = parsePrometheusText(text);
  expect(scrape.types.get('platform_rpc_requests_total')).toBe('counter');
  expect(scrape.types.get('platform_rpc_duration_seconds')).toBe('histogram');
  expect(select(scrape, 'platform_rpc_requests_total', { code: 'NOT_FOUND' })).toEqual([
    {
      name: 'platform_rpc_requests_total',
      labels: { procedure: 'blocks.get', type: 'query', code: 'NOT_FOUND', service_name: 'knowledge' },
      value: 1,
    },
  ]);
  expect(total(scrape, 'platform_rpc_requests_total', { procedure: 'blocks.get' })).toBe(4);
  expect(select(scrape, 'platform_rpc_duration_seconds_bucket')[0]?.labels).toEqual({ procedure: 'a"b', le: '+Inf' });
  expect(total(scrape, 'platform_neo4j_pool_max')).toBe(100);
  expect(total(scrape, 'absent_metric')).toBe(0);
});

it('refuses a line that is not a sample, so a broken exposition fails the test that reads it', () => {
  expect(() => parsePrometheusText('platform_x{unterminated 1 2 3')).toThrow(/not a sample line/);
});
