import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_MAX_IMAGE_TOKENS,
  anthropicImageTokens,
  imageSizeFromBase64,
  openaiImageTokens,
  pdfPageCount,
} from '../../src/providers/image-tokens.js';

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >>> 8) & 255];
const le24 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

const png = (w: number, h: number) =>
  b64([
    0x89,
    ...ascii('PNG\r\n\x1a\n'),
    0,
    0,
    0,
    13,
    ...ascii('IHDR'),
    ...be32(w),
    ...be32(h),
    8,
    6,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
  ]);
const gif = (w: number, h: number) => b64([...ascii('GIF89a'), ...le16(w), ...le16(h), 0, 0, 0, 0]);
const jpeg = (w: number, h: number) =>
  b64([
    0xff,
    0xd8,
    // APP0 (JFIF), 16 bytes long, skipped by length
    0xff,
    0xe0,
    0,
    16,
    ...ascii('JFIF\0'),
    1,
    1,
    0,
    0,
    1,
    0,
    1,
    0,
    0,
    // DHT shares the SOF range and must be skipped
    0xff,
    0xc4,
    0,
    4,
    0,
    0,
    0xff,
    0xc0,
    0,
    17,
    8,
    (h >> 8) & 255,
    h & 255,
    (w >> 8) & 255,
    w & 255,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
const webpVp8x = (w: number, h: number) =>
  b64([
    ...ascii('RIFF'),
    0,
    0,
    0,
    0,
    ...ascii('WEBPVP8X'),
    10,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...le24(w - 1),
    ...le24(h - 1),
    0,
    0,
  ]);

describe('imageSizeFromBase64', () => {
  it.each([
    ['PNG', png(1024, 768)],
    ['GIF', gif(1024, 768)],
    ['JPEG', jpeg(1024, 768)],
    ['WebP', webpVp8x(1024, 768)],
  ])('reads the size of a %s header', (_format, data) => {
    expect(imageSizeFromBase64(data)).toEqual({ width: 1024, height: 768 });
  });

  it('reads URL-safe base64 and base64 with line breaks', () => {
    const data = png(3000, 2000);
    expect(imageSizeFromBase64(data.replace(/\+/g, '-').replace(/\//g, '_'))).toEqual({
      width: 3000,
      height: 2000,
    });
    expect(imageSizeFromBase64(`${data.slice(0, 10)}\n${data.slice(10)}`)).toEqual({
      width: 3000,
      height: 2000,
    });
  });

  it('gives no size for what it cannot read', () => {
    expect(imageSizeFromBase64('not base64 at all!')).toBeUndefined();
    expect(imageSizeFromBase64(b64(ascii('just some text, not an image')))).toBeUndefined();
    expect(imageSizeFromBase64('')).toBeUndefined();
  });
});

describe('image token rules', () => {
  it('Anthropic: width * height / 750, the long edge scaled to 1568, at most 1,600', () => {
    expect(anthropicImageTokens({ width: 1000, height: 1000 })).toBe(1334);
    expect(anthropicImageTokens({ width: 200, height: 200 })).toBe(54);
    // 3136 x 1568 scales to 1568 x 784: 1,639 tokens, capped.
    expect(anthropicImageTokens({ width: 3136, height: 1568 })).toBe(ANTHROPIC_MAX_IMAGE_TOKENS);
    expect(anthropicImageTokens(undefined)).toBe(ANTHROPIC_MAX_IMAGE_TOKENS);
  });

  it("OpenAI tiles: the guide's examples", () => {
    // 1024 x 1024 high: 768 x 768, 4 tiles: 85 + 4 * 170.
    expect(openaiImageTokens('gpt-4o', { width: 1024, height: 1024 }, 'high')).toBe(765);
    // 2048 x 4096 high: 1024 x 2048, then 768 x 1536, 6 tiles.
    expect(openaiImageTokens('gpt-4o', { width: 2048, height: 4096 }, 'high')).toBe(1105);
    expect(openaiImageTokens('gpt-4o', { width: 4096, height: 8192 }, 'low')).toBe(85);
    // auto counts as high; an unknown size counts the most tiles (8).
    expect(openaiImageTokens('gpt-4o', undefined)).toBe(85 + 8 * 170);
    expect(openaiImageTokens('gpt-4o-mini', { width: 1024, height: 1024 }, 'high')).toBe(
      2833 + 4 * 5667,
    );
  });

  it("OpenAI patches: the guide's examples for gpt-4.1-mini", () => {
    // 1024 x 1024: 32 x 32 = 1024 patches, times 1.62.
    expect(openaiImageTokens('gpt-4.1-mini', { width: 1024, height: 1024 })).toBe(
      Math.ceil(1024 * 1.62),
    );
    // 1800 x 2400: scaled to 1056 x 1408, 33 x 44 = 1452 patches.
    expect(openaiImageTokens('gpt-4.1-mini', { width: 1800, height: 2400 })).toBe(
      Math.ceil(1452 * 1.62),
    );
  });

  it('counts the pages of a PDF from its page objects', () => {
    const pdf = Buffer.from(
      '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj <</Type/Page/Parent 2 0 R>> endobj\n',
    ).toString('base64');
    expect(pdfPageCount(pdf)).toBe(2);
    expect(pdfPageCount(b64(ascii('no pages here')))).toBeUndefined();
  });
});
