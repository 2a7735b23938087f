using System.Text;
using Kiosk.Vision.Interop.TurboJpeg;

namespace Kiosk.Vision.Imaging;

/// <summary>Writers for debugging dumps and test fixtures; not meant for the per-frame path (they allocate).</summary>
public static class ImageEncoder
{
    /// <summary>Binary PPM (P6, maxval 255).</summary>
    public static byte[] EncodePpm(BgrImage img)
    {
        ArgumentNullException.ThrowIfNull(img);
        byte[] header = Encoding.ASCII.GetBytes($"P6\n{img.Width} {img.Height}\n255\n");
        var result = new byte[header.Length + img.Pixels.Length];
        header.CopyTo(result, 0);
        ReadOnlySpan<byte> src = img.Pixels;
        Span<byte> dst = result.AsSpan(header.Length);
        for (int i = 0; i < src.Length; i += 3)
        {
            dst[i] = src[i + 2];
            dst[i + 1] = src[i + 1];
            dst[i + 2] = src[i];
        }
        return result;
    }

    /// <summary>Baseline JPEG with 4:4:4 sampling through libturbojpeg; failures are <see cref="TurboJpegException"/>.</summary>
    public static byte[] EncodeJpeg(BgrImage img, int quality = 90)
    {
        ArgumentNullException.ThrowIfNull(img);
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        using var compressor = new TurboJpegCompressor();
        return compressor.CompressBgr(img.Pixels, img.Width, img.Height, quality);
    }
}
