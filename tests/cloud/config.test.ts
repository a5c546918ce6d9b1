import { ConfigError, parseConfig } from '../../firmware/config/load';

/** The cloud section through the gate's own config loader: defaults work, mistakes are named. */
const problems = (cloud: unknown): string[] => {
  try {
    parseConfig({ cloud });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

test('an empty config has no cloud link and sensible limits', () => {
  expect(parseConfig({}).cloud).toMatchObject({ url: '', operatorKeys: [], siteRoot: '', siteRecovery: '', maxPayloadBytes: 65536, skewSeconds: 30, homeAssistant: { enabled: false, prefix: 'homeassistant' } });
});

test('bad values name the key, the value and what is allowed', () => {
  expect(problems({ url: 'http://broker:1883' })).toEqual([expect.stringMatching(/^cloud\.url = "http:\/\/broker:1883": .*mqtt:\/\/host:port or mqtts:\/\/host:port/)]);
  expect(problems({ operatorKeys: ['not-a-key'] })).toEqual([expect.stringMatching(/^cloud\.operatorKeys\.0 = "not-a-key": .*Ed25519 public key \(32 bytes of base64/)]);
  expect(problems({ siteRoot: 'not-a-key' })).toEqual([expect.stringMatching(/^cloud\.siteRoot = "not-a-key": .*Ed25519 public key \(32 bytes of base64, 44 characters\), or empty/)]);
  expect(problems({ siteRecovery: 42 })).toEqual([expect.stringMatching(/^cloud\.siteRecovery = 42: /)]);
  expect(problems({ skewSeconds: 900 })).toEqual([expect.stringMatching(/^cloud\.skewSeconds = 900: .*between 0 and 300/)]);
  expect(problems({ maxPayloadBytes: 10 })).toEqual([expect.stringMatching(/^cloud\.maxPayloadBytes = 10: .*at least 512/)]);
  expect(problems({ homeAssistant: { enabled: 'yes' } })).toEqual([expect.stringMatching(/^cloud\.homeAssistant\.enabled = "yes": .*true or false/)]);
  expect(problems({ brokerUrl: 'mqtt://x' })).toEqual([expect.stringMatching(/^cloud\.brokerUrl: is not a known setting/)]);
});
