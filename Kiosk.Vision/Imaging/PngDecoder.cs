using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Kiosk.Vision.Imaging;

/// <summary>
/// Managed PNG reader to 8-bit BGR: colour types 0, 2, 3, 4, 6; bit depths 1..16 (16-bit keeps the high
/// byte); Adam7; every chunk's CRC is checked. Alpha and tRNS are dropped, not composited; gamma, ICC and
/// other ancillary chunks are ignored.
/// </summary>
internal static class PngDecoder
{
    private const int MaxPaletteEntries = 256;

    /// <summary>
    /// Deflate's densest code is a 258-byte match whose length and distance codes are one bit each: 258 bytes per
    /// 2 bits, 1032 per byte. Block headers, the zlib header and the Adler-32 only lower it (zlib -9 reaches 1029
    /// on zeros), so IDAT data shorter than the scanlines / 1032 cannot hold the image.
    /// </summary>
    private const int MaxInflateRatio = 1032;

    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // Adam7 passes: x start, y start, x step, y step.
    private static ReadOnlySpan<byte> Adam7 => [0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2];

    public static bool HasSignature(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    private readonly record struct Header(int Width, int Height, int BitDepth, int ColorType, bool Interlaced)
    {
        public int Channels => ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };

        public int BitsPerPixel => Channels * BitDepth;

        /// <summary>Filter unit: bytes per complete pixel, at least one.</summary>
        public int FilterBytes => Math.Max(1, BitsPerPixel / 8);

        public int RowBytes(int width) => (int)(((long)width * BitsPerPixel + 7) / 8);
    }

    public static void Decode(ReadOnlySpan<byte> data, string sourceName, BgrImage target)
    {
        if (!HasSignature(data))
        {
            throw Fail(sourceName, "missing PNG signature");
        }

        Header header = default;
        bool haveHeader = false, haveEnd = false, idatEnded = false;
        Span<byte> palette = stackalloc byte[MaxPaletteEntries * 3]; // zeroed: out-of-range indices read black
        int paletteEntries = 0;
        // IDAT payloads are concatenated here (they always fit in the file's size) to feed one zlib stream.
        byte[] compressed = ArrayPool<byte>.Shared.Rent(data.Length);
        int compressedLength = 0;
        try
        {
            int pos = Signature.Length;
            bool previousWasIdat = false;
            while (!haveEnd)
            {
                if (data.Length - pos < 12)
                {
                    throw Fail(sourceName, pos == data.Length
                        ? "truncated: the file ends before the IEND chunk"
                        : $"truncated chunk header at offset {pos}");
                }
                uint length = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(pos));
                ReadOnlySpan<byte> type = data.Slice(pos + 4, 4);
                string name = ChunkName(type);
                if (name.Length != 4)
                {
                    throw Fail(sourceName, $"invalid chunk type 0x{name} at offset {pos}");
                }
                if (length > int.MaxValue || length > (uint)(data.Length - pos - 12))
                {
                    throw Fail(sourceName, length > int.MaxValue
                        ? $"invalid length {length} of chunk '{name}' at offset {pos}"
                        : $"truncated: chunk '{name}' at offset {pos} declares {length} bytes but the file ends first");
                }
                ReadOnlySpan<byte> body = data.Slice(pos + 8, (int)length);
                uint storedCrc = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(pos + 8 + (int)length));
                uint actualCrc = Crc32.Compute(data.Slice(pos + 4, 4 + (int)length));
                if (storedCrc != actualCrc)
                {
                    throw Fail(sourceName, $"CRC mismatch in chunk '{name}' at offset {pos} (stored 0x{storedCrc:X8}, computed 0x{actualCrc:X8})");
                }
                if (!haveHeader && !type.SequenceEqual("IHDR"u8))
                {
                    throw Fail(sourceName, $"first chunk is '{name}', expected IHDR");
                }

                bool isIdat = type.SequenceEqual("IDAT"u8);
                if (previousWasIdat && !isIdat)
                {
                    idatEnded = true;
                }
                if (type.SequenceEqual("IHDR"u8))
                {
                    if (haveHeader)
                    {
                        throw Fail(sourceName, "more than one IHDR chunk");
                    }
                    header = ParseHeader(body, sourceName);
                    haveHeader = true;
                }
                else if (type.SequenceEqual("PLTE"u8))
                {
                    if (length % 3 != 0 || length == 0 || length > palette.Length)
                    {
                        throw Fail(sourceName, $"invalid PLTE chunk length {length}");
                    }
                    if (compressedLength > 0)
                    {
                        throw Fail(sourceName, "PLTE chunk after image data");
                    }
                    body.CopyTo(palette);
                    paletteEntries = (int)length / 3;
                }
                else if (isIdat)
                {
                    if (idatEnded)
                    {
                        throw Fail(sourceName, "IDAT chunks are not consecutive");
                    }
                    body.CopyTo(compressed.AsSpan(compressedLength));
                    compressedLength += body.Length;
                }
                else if (type.SequenceEqual("IEND"u8))
                {
                    haveEnd = true;
                }
                else if ((type[0] & 0x20) == 0)
                {
                    // Lower-case bit 5 clear on the first letter means "critical": we must not guess at it.
                    throw Fail(sourceName, $"unsupported critical chunk '{name}'");
                }
                previousWasIdat = isIdat;
                pos += 12 + (int)length;
            }

            if (compressedLength == 0)
            {
                throw Fail(sourceName, "no image data (IDAT chunk)");
            }
            if (header.ColorType == 3 && paletteEntries == 0)
            {
                throw Fail(sourceName, "palette image without PLTE chunk");
            }

            // Checked before the picture is allocated: otherwise a few forged bytes reserve up to 150 MB.
            long filtered = FilteredSize(header);
            if ((long)compressedLength * MaxInflateRatio < filtered)
            {
                throw Fail(sourceName, $"truncated image data: {compressedLength} bytes of IDAT cannot inflate to the {filtered} bytes " +
                                       $"of scanlines a {header.Width}x{header.Height} image needs (zlib expands at most {MaxInflateRatio}:1)");
            }

            target.Reset(header.Width, header.Height);
            Inflate(compressed, compressedLength, header, palette, sourceName, target);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    private static Header ParseHeader(ReadOnlySpan<byte> body, string sourceName)
    {
        if (body.Length != 13)
        {
            throw Fail(sourceName, $"IHDR chunk has length {body.Length}, expected 13");
        }
        uint width = BinaryPrimitives.ReadUInt32BigEndian(body);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(body.Slice(4));
        int bitDepth = body[8], colorType = body[9], compression = body[10], filter = body[11], interlace = body[12];
        ImageLimits.ThrowIfInvalid(width, height, sourceName, "PNG");
        bool depthOk = colorType switch
        {
            0 => bitDepth is 1 or 2 or 4 or 8 or 16,
            3 => bitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => bitDepth is 8 or 16,
            _ => throw Fail(sourceName, $"invalid colour type {colorType}"),
        };
        if (!depthOk)
        {
            throw Fail(sourceName, $"invalid bit depth {bitDepth} for colour type {colorType}");
        }
        if (compression != 0 || filter != 0)
        {
            throw Fail(sourceName, $"unknown compression method {compression} or filter method {filter}");
        }
        if (interlace > 1)
        {
            throw Fail(sourceName, $"unknown interlace method {interlace}");
        }
        return new Header((int)width, (int)height, bitDepth, colorType, interlace == 1);
    }

    /// <summary>Length of the inflated IDAT stream: per pass, per scanline, a filter byte and the packed row.</summary>
    private static long FilteredSize(Header header)
    {
        if (!header.Interlaced)
        {
            return (long)header.Height * (1 + header.RowBytes(header.Width));
        }
        long total = 0;
        for (int p = 0; p < 7; p++)
        {
            int x0 = Adam7[p * 4], y0 = Adam7[p * 4 + 1], dx = Adam7[p * 4 + 2], dy = Adam7[p * 4 + 3];
            int passWidth = (header.Width - x0 + dx - 1) / dx;
            int passHeight = (header.Height - y0 + dy - 1) / dy;
            if (passWidth > 0 && passHeight > 0)
            {
                total += (long)passHeight * (1 + header.RowBytes(passWidth));
            }
        }
        return total;
    }

    private static void Inflate(byte[] compressed, int compressedLength, Header header, ReadOnlySpan<byte> palette, string sourceName, BgrImage target)
    {
        int maxRow = header.RowBytes(header.Width);
        byte[] current = ArrayPool<byte>.Shared.Rent(maxRow + 1);
        byte[] previous = ArrayPool<byte>.Shared.Rent(maxRow + 1);
        try
        {
            // Scanlines are inflated one at a time straight into the output: no full-size intermediate buffer.
            using var input = new MemoryStream(compressed, 0, compressedLength, writable: false);
            using var zlib = new ZLibStream(input, CompressionMode.Decompress);
            int passes = header.Interlaced ? 7 : 1;
            for (int p = 0; p < passes; p++)
            {
                int x0 = 0, y0 = 0, dx = 1, dy = 1;
                if (header.Interlaced)
                {
                    x0 = Adam7[p * 4];
                    y0 = Adam7[p * 4 + 1];
                    dx = Adam7[p * 4 + 2];
                    dy = Adam7[p * 4 + 3];
                }
                int passWidth = (header.Width - x0 + dx - 1) / dx;
                int passHeight = (header.Height - y0 + dy - 1) / dy;
                if (passWidth <= 0 || passHeight <= 0)
                {
                    continue; // empty passes carry no scanlines, not even filter bytes
                }
                int rowBytes = header.RowBytes(passWidth);
                previous.AsSpan(0, rowBytes + 1).Clear();
                for (int r = 0; r < passHeight; r++)
                {
                    Span<byte> line = current.AsSpan(0, rowBytes + 1);
                    ReadScanline(zlib, line, sourceName, p, r);
                    Unfilter(line[0], line.Slice(1), previous.AsSpan(1, rowBytes), header.FilterBytes, sourceName);
                    ConvertRow(line.Slice(1), header, palette, passWidth, target.Row(y0 + r * dy), x0, dx);
                    (current, previous) = (previous, current);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(previous);
        }
    }

    private static void ReadScanline(ZLibStream zlib, Span<byte> line, string sourceName, int pass, int row)
    {
        try
        {
            zlib.ReadExactly(line);
        }
        catch (EndOfStreamException e)
        {
            throw Fail(sourceName, $"truncated image data: the compressed stream ends at scanline {row} of pass {pass + 1}", e);
        }
        catch (InvalidDataException e)
        {
            throw Fail(sourceName, $"corrupt compressed image data: {e.Message}", e);
        }
        catch (IOException e)
        {
            // ZLibException: zlib results .NET does not map to InvalidDataException, e.g. Z_NEED_DICT for a stream
            // that asks for a preset dictionary, which PNG forbids.
            throw Fail(sourceName, $"corrupt compressed image data: {e.Message}", e);
        }
    }

    private static void Unfilter(byte filter, Span<byte> row, ReadOnlySpan<byte> up, int bpp, string sourceName)
    {
        switch (filter)
        {
            case 0:
                break;
            case 1: // Sub
                for (int i = bpp; i < row.Length; i++)
                {
                    row[i] += row[i - bpp];
                }
                break;
            case 2: // Up
                for (int i = 0; i < row.Length; i++)
                {
                    row[i] += up[i];
                }
                break;
            case 3: // Average
                for (int i = 0; i < bpp && i < row.Length; i++)
                {
                    row[i] += (byte)(up[i] >> 1);
                }
                for (int i = bpp; i < row.Length; i++)
                {
                    row[i] += (byte)((row[i - bpp] + up[i]) >> 1);
                }
                break;
            case 4: // Paeth
                for (int i = 0; i < bpp && i < row.Length; i++)
                {
                    row[i] += up[i]; // left and upper-left are 0, so the predictor is "up"
                }
                for (int i = bpp; i < row.Length; i++)
                {
                    row[i] += Paeth(row[i - bpp], up[i], up[i - bpp]);
                }
                break;
            default:
                throw Fail(sourceName, $"invalid scanline filter type {filter}");
        }
    }

    private static byte Paeth(byte a, byte b, byte c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Writes <paramref name="count"/> pixels of an unfiltered scanline to <paramref name="dst"/> at x0, x0+dx, ...</summary>
    private static void ConvertRow(ReadOnlySpan<byte> src, Header header, ReadOnlySpan<byte> palette, int count, Span<byte> dst, int x0, int dx)
    {
        int d = x0 * 3, step = dx * 3;
        int bits = header.BitDepth;
        if (bits < 8)
        {
            int perByte = 8 / bits, mask = (1 << bits) - 1, scale = 255 / mask;
            bool indexed = header.ColorType == 3;
            for (int i = 0; i < count; i++, d += step)
            {
                int shift = 8 - bits * (i % perByte + 1);
                int v = (src[i / perByte] >> shift) & mask;
                if (indexed)
                {
                    WritePalette(palette, v, dst, d);
                }
                else
                {
                    dst[d] = dst[d + 1] = dst[d + 2] = (byte)(v * scale);
                }
            }
            return;
        }

        int bps = bits / 8; // 16-bit samples are big-endian: the first byte is the high byte we keep
        int pixel = header.Channels * bps;
        switch (header.ColorType)
        {
            case 0:
            case 4: // grey + alpha: alpha dropped
                for (int i = 0, s = 0; i < count; i++, s += pixel, d += step)
                {
                    dst[d] = dst[d + 1] = dst[d + 2] = src[s];
                }
                break;
            case 2:
            case 6: // RGBA: alpha dropped
                for (int i = 0, s = 0; i < count; i++, s += pixel, d += step)
                {
                    dst[d] = src[s + 2 * bps];
                    dst[d + 1] = src[s + bps];
                    dst[d + 2] = src[s];
                }
                break;
            default: // 3, 8-bit indices
                for (int i = 0; i < count; i++, d += step)
                {
                    WritePalette(palette, src[i], dst, d);
                }
                break;
        }
    }

    private static void WritePalette(ReadOnlySpan<byte> palette, int index, Span<byte> dst, int d)
    {
        int p = index * 3;
        dst[d] = palette[p + 2];
        dst[d + 1] = palette[p + 1];
        dst[d + 2] = palette[p];
    }

    private static string ChunkName(ReadOnlySpan<byte> type)
    {
        foreach (byte b in type)
        {
            if (!char.IsAsciiLetter((char)b))
            {
                return Convert.ToHexString(type);
            }
        }
        return Encoding.ASCII.GetString(type);
    }

    private static ImageDecodeException Fail(string sourceName, string reason, Exception? inner = null) =>
        new(sourceName, "PNG: " + reason, inner);
}
