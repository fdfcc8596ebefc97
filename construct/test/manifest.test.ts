import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bedrockModels, loadStateMachines, parseManifest } from '../src/manifest';
import { copyFixture, FIXTURE_DIR } from './helpers';

/** The fixture's manifest with the weather agent's `get_weather` tool entry replaced. */
function withWeatherTool(entry: Record<string, unknown>): string {
  return copyFixture(FIXTURE_DIR, (m) => {
    m.agents[1].tools[0] = { tool: 'get_weather', placeholder: 'ToolGetWeatherFunctionArn', ...entry };
    return m;
  });
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
  const dir = copyFixture(FIXTURE_DIR, (m) => m, {
    file: 'weather.asl.json',
    edit: (w) => w.replace('${ToolGetWeatherFunctionArn}', '${ToolGetWeatherFunctionArnX}'),
  });
  expect(() => loadStateMachines(dir)).toThrow(/placeholder \$\{ToolGetWeatherFunctionArnX\} is not in the manifest/);
});

test('a Lambda the manifest names but the definition never calls fails the synth', () => {
  const dir = copyFixture(FIXTURE_DIR, (m) => {
    m.agents[1].tools.push({ tool: 'convert_currency', placeholder: 'ToolConvertCurrencyFunctionArn', binary: 'tool-convert-currency' });
    return m;
  });
  expect(() => loadStateMachines(dir)).toThrow(/never uses it/);
});

test('a missing manifest says how to make one', () => {
  expect(() => loadStateMachines(os.tmpdir())).toThrow(/cargo run -- synth`; in the sfn-agent repository `cargo run -p sfn-agent-demo -- synth/);
});

test('a manifest that is not JSON is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-agent-manifest-'));
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{"version": 1,');
  expect(() => loadStateMachines(dir)).toThrow(/manifest\.json is not valid JSON/);
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

test('a tool is a cargo binary or an existing function, by ARN or by name', () => {
  const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:get-weather-py';
  expect(loadStateMachines(withWeatherTool({ function: arn }))[1].tools[0]).toEqual({
    tool: 'get_weather',
    placeholder: 'ToolGetWeatherFunctionArn',
    function: arn,
  });
  expect(loadStateMachines(withWeatherTool({ function: 'get-weather-py' }))[1].tools[0].function).toBe('get-weather-py');
  expect(loadStateMachines(withWeatherTool({ binary: 'tool-get-weather' }))[1].tools[0]).toEqual({
    tool: 'get_weather',
    placeholder: 'ToolGetWeatherFunctionArn',
    binary: 'tool-get-weather',
  });
});

test('a tool with neither or both of binary and function is refused, unless toolFunctions gives it', () => {
  const neither = withWeatherTool({});
  const both = withWeatherTool({ binary: 'tool-get-weather', function: 'get-weather-py' });
  expect(() => loadStateMachines(neither)).toThrow(
    /agents\[1\]\.tools\[0\] \(tool "get_weather"\) has neither "binary" nor "function": give exactly one.*toolFunctions/,
  );
  expect(() => loadStateMachines(both)).toThrow(/\(tool "get_weather"\) has both "binary" and "function"/);
  expect(loadStateMachines(neither, { toolFunctions: ['get_weather'] })[1].tools[0]).toEqual({
    tool: 'get_weather',
    placeholder: 'ToolGetWeatherFunctionArn',
  });
  expect(() => loadStateMachines(both, { toolFunctions: ['get_weather'] })).not.toThrow();
});

test('a function that is neither an ARN nor a name is refused', () => {
  expect(() => loadStateMachines(withWeatherTool({ function: 'arn:aws:s3:::bucket' }))).toThrow(
    /tools\[0\]\.function "arn:aws:s3:::bucket" is neither a Lambda function ARN/,
  );
  expect(() => loadStateMachines(withWeatherTool({ function: 'has spaces' }))).toThrow(/neither a Lambda function ARN/);
});

test('bedrock models are read from {provider, model} objects anywhere in the definition', () => {
  expect(bedrockModels({ a: [{ b: { provider: 'bedrock', model: 'm1' } }, { provider: 'openai', model: 'm2' }] })).toEqual(['m1']);
});
