using Kiosk.Vision.Imaging;

namespace Kiosk.Tests.Imaging;

/// <summary>Synthetic pictures, comparisons and a temporary folder shared by the imaging tests.</summary>
internal static class TestImages
{
    public static string PairsDevFile(string name)
    {
        string path = Path.Combine(TestPaths.PairsDev, name);
        Assert.True(File.Exists(path), $"Test image {path} is missing (set KIOSK_SHARED_DIR to the shared folder).");
        return path;
    }

    /// <summary>A deterministic image with smooth gradients and hard edges, so codecs and transforms both show.</summary>
    public static BgrImage Pattern(int width, int height)
    {
        var image = new BgrImage(width, height);
        for (int y = 0; y < height; y++)
        {
            Span<byte> row = image.Row(y);
            for (int x = 0; x < width; x++)
            {
                row[x * 3] = (byte)(x * 255 / Math.Max(1, width - 1));
                row[x * 3 + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                row[x * 3 + 2] = (byte)(((x / 4 + y / 4) & 1) == 0 ? 40 : 210);
            }
        }
        return image;
    }

    /// <summary>Builds a BGR image from a raw buffer of <paramref name="bytesPerPixel"/>-byte pixels via a per-pixel mapping.</summary>
    public static BgrImage FromRaw(byte[] raw, int width, int height, int bytesPerPixel, Func<byte[], int, (byte B, byte G, byte R)> pixel)
    {
        Assert.Equal((long)width * height * bytesPerPixel, raw.Length);
        var image = new BgrImage(width, height);
        Span<byte> dst = image.Pixels;
        for (int i = 0; i < width * height; i++)
        {
            (byte b, byte g, byte r) = pixel(raw, i * bytesPerPixel);
            dst[i * 3] = b;
            dst[i * 3 + 1] = g;
            dst[i * 3 + 2] = r;
        }
        return image;
    }

    public static double MeanAbsoluteDifference(BgrImage a, BgrImage b)
    {
        AssertSameSize(a, b);
        ReadOnlySpan<byte> x = a.Pixels, y = b.Pixels;
        long sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sum += Math.Abs(x[i] - y[i]);
        }
        return (double)sum / x.Length;
    }

    /// <summary>Exact equality with a readable message (xunit would print megabytes of array otherwise).</summary>
    public static void AssertPixelsEqual(BgrImage expected, BgrImage actual, string? context = null)
    {
        AssertSameSize(expected, actual);
        ReadOnlySpan<byte> e = expected.Pixels, a = actual.Pixels;
        int mismatch = e.CommonPrefixLength(a);
        if (mismatch < e.Length)
        {
            int pixel = mismatch / 3;
            int x = pixel % expected.Width, y = pixel / expected.Width;
            int count = 0;
            for (int i = mismatch; i < e.Length; i++)
            {
                count += e[i] != a[i] ? 1 : 0;
            }
            Assert.Fail($"{context}: {count} bytes differ; first at pixel ({x},{y}) channel {mismatch % 3}: " +
                        $"expected {e[mismatch]}, got {a[mismatch]}");
        }
    }

    /// <summary>
    /// What a refusal may allocate: messages and the decoder's bookkeeping, nowhere near a pixel buffer of the
    /// size a forged header declares (tens of megabytes in these tests).
    /// </summary>
    public const long RefusalAllocationBudget = 1 << 20;

    /// <summary>Runs a decode that must be refused and returns the refusal and the bytes this thread allocated meanwhile.</summary>
    public static (ImageDecodeException Error, long Allocated) RefusalCost(Action decode)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageDecodeException>(decode);
        return (e, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    public static void AssertSameSize(BgrImage expected, BgrImage actual) =>
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
}

/// <summary>A fresh temporary folder removed on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("kiosk-imaging-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
