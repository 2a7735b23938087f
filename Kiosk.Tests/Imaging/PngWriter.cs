using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Kiosk.Tests.Imaging;

/// <summary>
/// A small, independent PNG writer for hand-built test files: any colour type and bit depth, Adam7, a chosen
/// filter per scanline, IDAT split into several chunks, extra chunks. Its output is cross-checked with ffmpeg.
/// </summary>
internal sealed class PngWriter
{
    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    public required int Width { get; init; }
    public required int Height { get; init; }
    public required int BitDepth { get; init; }
    public required int ColorType { get; init; }

    /// <summary>Sample value (0 .. 2^BitDepth-1) of channel c at (x, y).</summary>
    public required Func<int, int, int, int> Sample { get; init; }

    public bool Interlaced { get; init; }
    public byte[]? Palette { get; init; }
    public byte[]? Transparency { get; init; }

    /// <summary>Filter type for the n-th scanline written (across passes); default cycles 0..4.</summary>
    public Func<int, byte> Filter { get; init; } = n => (byte)(n % 5);

    /// <summary>Maximum IDAT payload per chunk, to exercise concatenation.</summary>
    public int IdatChunkSize { get; init; } = 1000;

    public int Channels => ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };

    public byte[] Build() => Build(Compress(FilteredScanlines()));

    public byte[] Build(byte[] zlibData, byte[]? ihdrOverride = null)
    {
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        byte[] ihdr = ihdrOverride ?? Ihdr();
        WriteChunk(png, "IHDR", ihdr);
        WriteChunk(png, "tEXt", Encoding.ASCII.GetBytes("Comment\0hand-built test image"));
        if (Palette is not null)
        {
            WriteChunk(png, "PLTE", Palette);
        }
        if (Transparency is not null)
        {
            WriteChunk(png, "tRNS", Transparency);
        }
        for (int i = 0; i < zlibData.Length; i += IdatChunkSize)
        {
            WriteChunk(png, "IDAT", zlibData.AsSpan(i, Math.Min(IdatChunkSize, zlibData.Length - i)));
        }
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    public byte[] Ihdr()
    {
        byte[] ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), Height);
        ihdr[8] = (byte)BitDepth;
        ihdr[9] = (byte)ColorType;
        ihdr[12] = (byte)(Interlaced ? 1 : 0);
        return ihdr;
    }

    /// <summary>The decompressed IDAT stream: per pass, per row, a filter byte then the filtered row.</summary>
    public byte[] FilteredScanlines()
    {
        using var raw = new MemoryStream();
        int lineNumber = 0;
        int bitsPerPixel = Channels * BitDepth, bpp = Math.Max(1, bitsPerPixel / 8);
        foreach ((int x0, int y0, int dx, int dy) in Interlaced ? Adam7 : [(0, 0, 1, 1)])
        {
            int w = (Width - x0 + dx - 1) / dx, h = (Height - y0 + dy - 1) / dy;
            if (w <= 0 || h <= 0)
            {
                continue;
            }
            int rowBytes = (w * bitsPerPixel + 7) / 8;
            byte[] previous = new byte[rowBytes];
            for (int r = 0; r < h; r++)
            {
                byte[] row = PackRow(x0, dx, y0 + r * dy, w, rowBytes);
                byte filter = Filter(lineNumber++);
                raw.WriteByte(filter);
                for (int i = 0; i < rowBytes; i++)
                {
                    int a = i >= bpp ? row[i - bpp] : 0, b = previous[i], c = i >= bpp ? previous[i - bpp] : 0;
                    int predictor = filter switch
                    {
                        1 => a,
                        2 => b,
                        3 => (a + b) / 2,
                        4 => PaethPredictor(a, b, c),
                        _ => 0,
                    };
                    raw.WriteByte((byte)(row[i] - predictor));
                }
                previous = row;
            }
        }
        return raw.ToArray();
    }

    public static byte[] Compress(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(data);
        }
        return output.ToArray();
    }

    private byte[] PackRow(int x0, int dx, int y, int count, int rowBytes)
    {
        byte[] row = new byte[rowBytes];
        int bit = 0;
        for (int i = 0; i < count; i++)
        {
            int x = x0 + i * dx;
            for (int c = 0; c < Channels; c++)
            {
                int v = Sample(x, y, c);
                if (BitDepth == 16)
                {
                    row[bit / 8] = (byte)(v >> 8);
                    row[bit / 8 + 1] = (byte)v;
                }
                else if (BitDepth == 8)
                {
                    row[bit / 8] = (byte)v;
                }
                else
                {
                    row[bit / 8] |= (byte)(v << (8 - BitDepth - bit % 8)); // most significant bits first
                }
                bit += BitDepth;
            }
        }
        return row;
    }

    private static int PaethPredictor(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    public static void WriteChunk(Stream png, string type, ReadOnlySpan<byte> data)
    {
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        png.Write(typeBytes);
        png.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, BitwiseCrc([.. typeBytes, .. data]));
        png.Write(word);
    }

    /// <summary>Bit-at-a-time CRC-32, deliberately not the decoder's table version.</summary>
    public static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xEDB88320 & (0u - (crc & 1)));
            }
        }
        return ~crc;
    }
}
