namespace Kiosk.Vision.Imaging;

/// <summary>
/// Netpbm PGM/PPM reader: P5/P6 (binary) and P2/P3 (ASCII), maxval 1..65535 scaled to 0..255 with rounding,
/// '#' comments in the header (and, leniently, between ASCII samples). Data after the first image is ignored.
/// </summary>
internal static class PnmDecoder
{
    public static bool HasMagic(ReadOnlySpan<byte> data) =>
        data.Length >= 3 && data[0] == (byte)'P' && data[1] is >= (byte)'1' and <= (byte)'6'
        && (IsSpace(data[2]) || data[2] == (byte)'#');

    public static void Decode(ReadOnlySpan<byte> data, string sourceName, BgrImage target)
    {
        if (!HasMagic(data))
        {
            throw Fail(sourceName, "missing P2/P3/P5/P6 magic number");
        }
        char kind = (char)data[1];
        if (kind is '1' or '4')
        {
            throw Fail(sourceName, $"PBM bitmaps (P{kind}) are not supported, only PGM/PPM");
        }
        bool ascii = kind is '2' or '3';
        int channels = kind is '2' or '5' ? 1 : 3;

        int pos = 2;
        int width = ReadHeaderNumber(data, ref pos, "width", sourceName);
        int height = ReadHeaderNumber(data, ref pos, "height", sourceName);
        int maxval = ReadHeaderNumber(data, ref pos, "maxval", sourceName);
        if (maxval is < 1 or > 65535)
        {
            throw Fail(sourceName, $"maxval {maxval} is outside 1..65535");
        }
        ImageLimits.ThrowIfInvalid(width, height, sourceName, "PNM");

        long samples = (long)width * height * channels;
        if (ascii)
        {
            // Every sample is at least one digit preceded by a separator (the one ending maxval counts for the
            // first), so a file shorter than that cannot be complete: refuse it before allocating the target.
            long available = data.Length - pos;
            if (available < 2 * samples)
            {
                throw Fail(sourceName, $"truncated pixel data: {samples} samples need at least {2 * samples} bytes of text after the header, found {available}");
            }
            target.Reset(width, height);
            ReadAscii(data, pos, samples, channels, maxval, target, sourceName);
            return;
        }

        if (pos >= data.Length || !IsSpace(data[pos]))
        {
            throw Fail(sourceName, "expected a single whitespace character between maxval and the binary samples");
        }
        pos++; // exactly one whitespace byte separates the header from binary samples
        int bytesPerSample = maxval < 256 ? 1 : 2;
        long needed = samples * bytesPerSample;
        if (data.Length - pos < needed)
        {
            throw Fail(sourceName, $"truncated pixel data: expected {needed} bytes after the header, found {data.Length - pos}");
        }
        target.Reset(width, height);
        ReadBinary(data.Slice(pos, (int)needed), channels, maxval, bytesPerSample, target, sourceName);
    }

    private static void ReadBinary(ReadOnlySpan<byte> src, int channels, int maxval, int bytesPerSample, BgrImage target, string sourceName)
    {
        Span<byte> dst = target.Pixels;
        int pixels = target.Width * target.Height;
        if (bytesPerSample == 1)
        {
            // Scaling through a 256-entry table; values above maxval are refused before the lookup.
            Span<byte> lut = stackalloc byte[256];
            for (int v = 0; v <= maxval; v++)
            {
                lut[v] = Scale(v, maxval);
            }
            for (int i = 0, s = 0, d = 0; i < pixels; i++, s += channels, d += 3)
            {
                int r = src[s], g = channels == 3 ? src[s + 1] : r, b = channels == 3 ? src[s + 2] : r;
                if (r > maxval || g > maxval || b > maxval)
                {
                    throw Fail(sourceName, $"sample value {Math.Max(r, Math.Max(g, b))} exceeds maxval {maxval} at pixel {i}");
                }
                dst[d] = lut[b];
                dst[d + 1] = lut[g];
                dst[d + 2] = lut[r];
            }
            return;
        }

        for (int i = 0, s = 0, d = 0; i < pixels; i++, s += 2 * channels, d += 3)
        {
            int r = (src[s] << 8) | src[s + 1];
            int g = channels == 3 ? (src[s + 2] << 8) | src[s + 3] : r;
            int b = channels == 3 ? (src[s + 4] << 8) | src[s + 5] : r;
            if (r > maxval || g > maxval || b > maxval)
            {
                throw Fail(sourceName, $"sample value {Math.Max(r, Math.Max(g, b))} exceeds maxval {maxval} at pixel {i}");
            }
            dst[d] = Scale(b, maxval);
            dst[d + 1] = Scale(g, maxval);
            dst[d + 2] = Scale(r, maxval);
        }
    }

    private static void ReadAscii(ReadOnlySpan<byte> data, int pos, long samples, int channels, int maxval, BgrImage target, string sourceName)
    {
        Span<byte> dst = target.Pixels;
        Span<byte> rgb = stackalloc byte[3];
        long read = 0;
        for (int d = 0; d < dst.Length; d += 3)
        {
            for (int c = 0; c < channels; c++, read++)
            {
                if (!TryReadNumber(data, ref pos, out int value, out string? error))
                {
                    throw Fail(sourceName, error ?? $"truncated pixel data: expected {samples} samples, found {read}");
                }
                if (value > maxval)
                {
                    throw Fail(sourceName, $"sample value {value} exceeds maxval {maxval} at sample {read}");
                }
                rgb[c] = Scale(value, maxval);
            }
            if (channels == 1)
            {
                dst[d] = dst[d + 1] = dst[d + 2] = rgb[0];
            }
            else
            {
                dst[d] = rgb[2];
                dst[d + 1] = rgb[1];
                dst[d + 2] = rgb[0];
            }
        }
    }

    private static byte Scale(int value, int maxval) =>
        maxval == 255 ? (byte)value : (byte)((value * 255 + maxval / 2) / maxval);

    private static int ReadHeaderNumber(ReadOnlySpan<byte> data, ref int pos, string field, string sourceName)
    {
        if (!TryReadNumber(data, ref pos, out int value, out string? error))
        {
            throw Fail(sourceName, error is null ? $"truncated header: missing {field}" : $"invalid {field}: {error}");
        }
        return value;
    }

    /// <summary>Skips whitespace and comments, then reads a decimal number that must end at whitespace, '#' or the end.</summary>
    /// <returns>false with a null error at end of data, false with an error for malformed text.</returns>
    private static bool TryReadNumber(ReadOnlySpan<byte> data, ref int pos, out int value, out string? error)
    {
        value = 0;
        error = null;
        while (pos < data.Length)
        {
            byte b = data[pos];
            if (IsSpace(b))
            {
                pos++;
            }
            else if (b == (byte)'#')
            {
                while (pos < data.Length && data[pos] != (byte)'\n' && data[pos] != (byte)'\r')
                {
                    pos++;
                }
            }
            else
            {
                break;
            }
        }
        if (pos >= data.Length)
        {
            return false;
        }
        int start = pos;
        long result = 0;
        while (pos < data.Length && data[pos] is >= (byte)'0' and <= (byte)'9')
        {
            result = result * 10 + (data[pos] - '0');
            if (result > int.MaxValue)
            {
                error = $"number at offset {start} is too large";
                return false;
            }
            pos++;
        }
        if (pos == start || (pos < data.Length && !IsSpace(data[pos]) && data[pos] != (byte)'#'))
        {
            error = $"unexpected character 0x{data[pos]:X2} at offset {pos}";
            return false;
        }
        value = (int)result;
        return true;
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;

    private static ImageDecodeException Fail(string sourceName, string reason) => new(sourceName, "PNM: " + reason);
}
