import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bedrockModels, loadStateMachines, parseManifest } from '../lib/manifest';
import { FIXTURE_DIR } from './helpers';

function copyFixture(edit: (manifest: any, weather: string) => [any, string]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-agent-manifest-'));
  for (const f of fs.readdirSync(FIXTURE_DIR)) fs.copyFileSync(path.join(FIXTURE_DIR, f), path.join(dir, f));
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const weather = fs.readFileSync(path.join(dir, 'weather.asl.json'), 'utf8');
  const [m, w] = edit(manifest, weather);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  fs.writeFileSync(path.join(dir, 'weather.asl.json'), w);
  return dir;
}

test('the fixture loads, with the Bedrock models found in the definitions', () => {
  const agents = loadStateMachines(FIXTURE_DIR);
  expect(agents.map((a) => [a.name, a.workflow_type, a.llm.provider])).toEqual([
    ['quick-math', 'EXPRESS', 'bedrock'],
    ['weather', 'STANDARD', 'anthropic'],
  ]);
  expect(agents[0].bedrockModels).toEqual(['us.anthropic.claude-3-5-haiku-20241022-v1:0']);
  expect(agents[1].bedrockModels).toEqual([]);
});

test('a placeholder the manifest does not fill fails the synth', () => {
  const dir = copyFixture((m, w) => [m, w.replace('${ToolGetWeatherFunctionArn}', '${ToolGetWeatherFunctionArnX}')]);
  expect(() => loadStateMachines(dir)).toThrow(/placeholder \$\{ToolGetWeatherFunctionArnX\} is not in the manifest/);
});

test('a Lambda the manifest names but the definition never calls fails the synth', () => {
  const dir = copyFixture((m, w) => {
    m.agents[1].tools.push({ tool: 'convert_currency', placeholder: 'ToolConvertCurrencyFunctionArn', binary: 'tool-convert-currency' });
    return [m, w];
  });
  expect(() => loadStateMachines(dir)).toThrow(/never uses it/);
});

test('a missing manifest says how to make one', () => {
  expect(() => loadStateMachines(os.tmpdir())).toThrow(/sfn-agent -- synth/);
});

test('malformed entries are named', () => {
  expect(() => parseManifest({ version: 1, agents: [{ name: 'Bad Name' }] }, 'm.json')).toThrow(/agents\[0\]\.name/);
  expect(() => parseManifest({ version: 2, agents: [] }, 'm.json')).toThrow(/version 2/);
  expect(() =>
    parseManifest(
      { version: 1, agents: [{ name: 'a', definition: 'a.json', workflow_type: 'STANDARD', llm: { placeholder: 'P', binary: 'b', provider: 'x' }, tools: [] }] },
      'm.json',
    ),
  ).toThrow(/provider/);
});

test('bedrock models are read from {provider, model} objects anywhere in the definition', () => {
  expect(bedrockModels({ a: [{ b: { provider: 'bedrock', model: 'm1' } }, { provider: 'openai', model: 'm2' }] })).toEqual(['m1']);
});
