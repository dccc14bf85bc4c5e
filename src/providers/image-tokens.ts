/**
 * What an image costs in prompt tokens, by the providers' published rules, from the image's own
 * header when it is sent inline (base64): PNG, JPEG, GIF and WebP sizes are read from the first
 * bytes, nothing is decoded further. Pure: no I/O, no clock.
 */

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

/** Base64 characters read at most: JPEG's size can sit behind up to 64 KiB of EXIF data. */
const HEADER_CHARS = 96 * 1024;

/** Decodes the start of a base64 string (standard or URL alphabet) into bytes. */
function decodePrefix(base64: string, maxChars: number): Uint8Array | undefined {
  let text = base64.slice(0, maxChars + 64).replace(/\s+/g, '');
  text = text.slice(0, maxChars - (maxChars % 4));
  text = text.replace(/-/g, '+').replace(/_/g, '/');
  text = text.slice(0, text.length - (text.length % 4));
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

const be16 = (b: Uint8Array, i: number) => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const le16 = (b: Uint8Array, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const le24 = (b: Uint8Array, i: number) => le16(b, i) | ((b[i + 2] ?? 0) << 16);
const be32 = (b: Uint8Array, i: number) => be16(b, i) * 65536 + be16(b, i + 2);
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

function jpegSize(b: Uint8Array): ImageSize | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // Start-of-frame markers carry the size; DHT (C4), JPG (C8) and DAC (CC) share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: be16(b, i + 5), width: be16(b, i + 7) };
    if ((marker >= 0xd0 && marker <= 0xd9) || marker === 0x01) {
      i += 2; // standalone marker, no length
      continue;
    }
    i += 2 + be16(b, i + 2);
  }
  return undefined;
}

function webpSize(b: Uint8Array): ImageSize | undefined {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') return { width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
  if (chunk === 'VP8L') {
    const b1 = b[21] ?? 0;
    const b2 = b[22] ?? 0;
    const b3 = b[23] ?? 0;
    const b4 = b[24] ?? 0;
    return {
      width: 1 + (((b2 & 0x3f) << 8) | b1),
      height: 1 + (((b4 & 0x0f) << 10) | (b3 << 2) | ((b2 & 0xc0) >> 6)),
    };
  }
  if (chunk === 'VP8X') return { width: 1 + le24(b, 24), height: 1 + le24(b, 27) };
  return undefined;
}

/** Pixel size from the header of a PNG, JPEG, GIF or WebP image sent as base64. */
export function imageSizeFromBase64(base64: string): ImageSize | undefined {
  const b = decodePrefix(base64, HEADER_CHARS);
  if (!b || b.length < 12) return undefined;
  let size: ImageSize | undefined;
  if (b[0] === 0x89 && ascii(b, 1, 3) === 'PNG') size = { width: be32(b, 16), height: be32(b, 20) };
  else if (ascii(b, 0, 4) === 'GIF8') size = { width: le16(b, 6), height: le16(b, 8) };
  else if (b[0] === 0xff && b[1] === 0xd8) size = jpegSize(b);
  else if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') size = webpSize(b);
  return size && size.width > 0 && size.height > 0 ? size : undefined;
}

// ---- Anthropic ---------------------------------------------------------------------------

/** Longest edge Anthropic keeps; larger images are scaled down first. */
const ANTHROPIC_MAX_EDGE = 1568;
/** The cost of an image at the largest size kept (about 1.15 megapixels), in tokens. */
export const ANTHROPIC_MAX_IMAGE_TOKENS = 1600;

/**
 * Anthropic's rule (Vision guide): `width * height / 750` tokens after scaling the long edge down
 * to 1568 px, at most about 1,600. An image of unknown size (a URL, a file id, a header we cannot
 * read) counts the maximum.
 */
export function anthropicImageTokens(size: ImageSize | undefined): number {
  if (!size) return ANTHROPIC_MAX_IMAGE_TOKENS;
  const scale = Math.min(1, ANTHROPIC_MAX_EDGE / Math.max(size.width, size.height));
  const pixels = size.width * scale * (size.height * scale);
  return Math.min(ANTHROPIC_MAX_IMAGE_TOKENS, Math.ceil(pixels / 750));
}

// ---- OpenAI ------------------------------------------------------------------------------

export type OpenaiImageDetail = 'low' | 'high' | 'auto';

interface TileRule {
  readonly kind: 'tiles';
  readonly base: number;
  readonly perTile: number;
}
interface PatchRule {
  readonly kind: 'patches';
  readonly multiplier: number;
}

/**
 * OpenAI's vision guide, "Calculating costs": most models count 512 px tiles (base + per tile),
 * the small 4.1 models and o4-mini count 32 px patches (up to 1,536) times a multiplier. Models
 * not listed use gpt-4o's tile rule.
 */
const OPENAI_RULES: readonly (readonly [RegExp, TileRule | PatchRule])[] = [
  [/^gpt-4\.1-mini/, { kind: 'patches', multiplier: 1.62 }],
  [/^gpt-4\.1-nano/, { kind: 'patches', multiplier: 2.46 }],
  [/^o4-mini/, { kind: 'patches', multiplier: 1.72 }],
  [/^gpt-4o-mini/, { kind: 'tiles', base: 2833, perTile: 5667 }],
  [/^(o1|o3)(?!-mini)/, { kind: 'tiles', base: 75, perTile: 150 }],
  [/^computer-use/, { kind: 'tiles', base: 65, perTile: 129 }],
];
const DEFAULT_TILES: TileRule = { kind: 'tiles', base: 85, perTile: 170 };
const MAX_PATCHES = 1536;

function tileTokens(rule: TileRule, size: ImageSize | undefined, detail: OpenaiImageDetail) {
  if (detail === 'low') return rule.base;
  // Unknown size: the most tiles an image can make (768 x 2048 after scaling: 2 x 4).
  if (!size) return rule.base + rule.perTile * 8;
  let { width: w, height: h } = size;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shortSide = Math.min(w, h);
  if (shortSide > 768) {
    w = (w * 768) / shortSide;
    h = (h * 768) / shortSide;
  }
  return rule.base + rule.perTile * Math.ceil(w / 512) * Math.ceil(h / 512);
}

function patchTokens(rule: PatchRule, size: ImageSize | undefined): number {
  if (!size) return Math.ceil(MAX_PATCHES * rule.multiplier);
  const { width: w, height: h } = size;
  let patches = Math.ceil(w / 32) * Math.ceil(h / 32);
  if (patches > MAX_PATCHES) {
    let r = Math.sqrt((32 * 32 * MAX_PATCHES) / (w * h));
    r *= Math.min(
      Math.floor((w * r) / 32) / ((w * r) / 32),
      Math.floor((h * r) / 32) / ((h * r) / 32),
    );
    patches = Math.min(MAX_PATCHES, Math.ceil((w * r) / 32) * Math.ceil((h * r) / 32));
  }
  return Math.ceil(patches * rule.multiplier);
}

/**
 * OpenAI's published image cost for `model` (`detail: 'auto'` counts as `high`, the larger). An
 * image of unknown size counts the most it could.
 */
export function openaiImageTokens(
  model: string | undefined,
  size: ImageSize | undefined,
  detail: OpenaiImageDetail = 'auto',
): number {
  const rule = OPENAI_RULES.find(([pattern]) => pattern.test(model ?? ''))?.[1] ?? DEFAULT_TILES;
  return rule.kind === 'tiles' ? tileTokens(rule, size, detail) : patchTokens(rule, size);
}

/** Pages of a PDF sent as base64, counted from its page objects; `undefined` when none is seen. */
export function pdfPageCount(base64: string): number | undefined {
  // Page objects are plain text unless packed into compressed object streams (PDF 1.5+).
  const bytes = decodePrefix(base64, 8 * 1024 * 1024);
  if (!bytes) return undefined;
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192)
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  const pages = text.match(/\/Type\s*\/Page(?![s\w])/g)?.length ?? 0;
  return pages > 0 ? pages : undefined;
}
