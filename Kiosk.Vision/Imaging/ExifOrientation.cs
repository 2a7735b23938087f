using System.Buffers.Binary;

namespace Kiosk.Vision.Imaging;

/// <summary>
/// EXIF orientation (TIFF tag 0x0112 in IFD0 of the JPEG APP1 "Exif\0\0" segment) and the pixel transform
/// that makes a decoded image upright. Malformed metadata is ignored (orientation 1), never an error: the
/// pixels are still good.
/// </summary>
internal static class ExifOrientation
{
    public const int Normal = 1;

    private const ushort OrientationTag = 0x0112;

    /// <summary>Returns 1..8 from the first Exif APP1 segment before the image data, or 1 if absent or malformed.</summary>
    public static int Read(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
        {
            return Normal;
        }
        int pos = 2;
        while (pos + 4 <= jpeg.Length)
        {
            if (jpeg[pos] != 0xFF)
            {
                return Normal; // not at a marker: the segment layout is broken, stop looking
            }
            byte marker = jpeg[pos + 1];
            if (marker == 0xFF)
            {
                pos++; // fill byte before a marker
                continue;
            }
            if (marker == 0xDA || marker == 0xD9)
            {
                return Normal; // start of scan or end of image: metadata comes before these
            }
            if (marker == 0x01 || marker is >= 0xD0 and <= 0xD8)
            {
                pos += 2; // markers without a length field
                continue;
            }
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.Slice(pos + 2));
            if (length < 2 || pos + 2 + length > jpeg.Length)
            {
                return Normal;
            }
            ReadOnlySpan<byte> payload = jpeg.Slice(pos + 4, length - 2);
            if (marker == 0xE1 && payload.StartsWith("Exif\0\0"u8))
            {
                return ReadTiff(payload.Slice(6));
            }
            pos += 2 + length;
        }
        return Normal;
    }

    private static int ReadTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return Normal;
        }
        bool little;
        if (tiff[0] == (byte)'I' && tiff[1] == (byte)'I')
        {
            little = true;
        }
        else if (tiff[0] == (byte)'M' && tiff[1] == (byte)'M')
        {
            little = false;
        }
        else
        {
            return Normal;
        }
        if (U16(tiff.Slice(2), little) != 42)
        {
            return Normal;
        }
        uint ifd = U32(tiff.Slice(4), little);
        if (ifd > (uint)tiff.Length - 2)
        {
            return Normal;
        }
        int count = U16(tiff.Slice((int)ifd), little);
        int entries = (int)ifd + 2;
        for (int i = 0; i < count; i++)
        {
            int entry = entries + 12 * i;
            if (entry > tiff.Length - 12)
            {
                return Normal; // IFD runs off the end of the segment
            }
            if (U16(tiff.Slice(entry), little) != OrientationTag)
            {
                continue;
            }
            ushort type = U16(tiff.Slice(entry + 2), little);
            uint valueCount = U32(tiff.Slice(entry + 4), little);
            if (valueCount < 1)
            {
                return Normal;
            }
            // The standard says SHORT (3); a few writers use LONG (4). The value sits left-justified in the entry.
            uint value = type switch
            {
                3 => U16(tiff.Slice(entry + 8), little),
                4 => U32(tiff.Slice(entry + 8), little),
                _ => 0,
            };
            return value is >= 1 and <= 8 ? (int)value : Normal;
        }
        return Normal;
    }

    private static ushort U16(ReadOnlySpan<byte> s, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16BigEndian(s);

    private static uint U32(ReadOnlySpan<byte> s, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);

    /// <summary>True when orientation swaps width and height (5..8).</summary>
    public static bool SwapsAxes(int orientation) => orientation >= 5;

    /// <summary>
    /// Writes the upright version of a <paramref name="width"/> x <paramref name="height"/> BGR image into
    /// <paramref name="target"/> (resized to the upright size). Source and target must not overlap.
    /// </summary>
    public static void Apply(int orientation, ReadOnlySpan<byte> source, int width, int height, BgrImage target)
    {
        // Output pixel (x, y) reads source pixel index origin + x*stepX + y*stepY:
        //   1 identity, 2 mirror left-right, 3 rotate 180, 4 mirror top-bottom,
        //   5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
        int last = height - 1, right = width - 1;
        (int origin, int stepX, int stepY) = orientation switch
        {
            2 => (right, -1, width),
            3 => (last * width + right, -1, -width),
            4 => (last * width, 1, -width),
            5 => (0, width, 1),
            6 => (last * width, -width, 1),
            7 => (last * width + right, -width, -1),
            8 => (right, width, -1),
            _ => (0, 1, width),
        };
        if (SwapsAxes(orientation))
        {
            target.Reset(height, width);
        }
        else
        {
            target.Reset(width, height);
        }
        int outWidth = target.Width, outHeight = target.Height;
        Span<byte> dst = target.Pixels;
        int d = 0;
        for (int y = 0; y < outHeight; y++)
        {
            int s = origin + y * stepY;
            for (int x = 0; x < outWidth; x++, s += stepX, d += 3)
            {
                int o = s * 3;
                dst[d] = source[o];
                dst[d + 1] = source[o + 1];
                dst[d + 2] = source[o + 2];
            }
        }
    }
}
