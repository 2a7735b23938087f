namespace Kiosk.Vision.Imaging;

/// <summary>Size bounds applied before any pixel buffer is allocated, so a forged header cannot exhaust memory.</summary>
/// <remarks>
/// These limits alone still let a few bytes claim the largest allowed picture, so each decoder also checks, before
/// allocating, that its data is long enough to hold the pixels it declares (PNM: bytes per sample; PNG: zlib's
/// maximum expansion; JPEG: pixels per compressed byte). Only WebP relies on these limits alone, see WebPDecoder.
/// </remarks>
internal static class ImageLimits
{
    public const int MaxDimension = 16384;

    /// <summary>
    /// 50 megapixels: 150 MB as BGR. The kiosk runs on a Raspberry Pi with 4 GB shared with the models and the OS,
    /// and one decode can hold several image-sized buffers at once: the target, an EXIF rotation scratch copy
    /// (another 150 MB), and inside libjpeg or libwebp a coefficient or ARGB buffer of 2 to 8 bytes per pixel
    /// (progressive JPEG, lossless WebP). At 100 MP that peak passes 1 GB; at 50 MP it stays near half that.
    /// No camera we read from comes close (phones are 12 to 50 MP, and faces need far less).
    /// </summary>
    public const long MaxPixels = 50_000_000;

    /// <returns>null when acceptable, else the reason to refuse.</returns>
    public static string? Check(long width, long height)
    {
        if (width < 1 || height < 1)
        {
            return $"invalid dimensions {width}x{height}";
        }
        if (width > MaxDimension || height > MaxDimension || width * height > MaxPixels)
        {
            return $"dimensions {width}x{height} exceed the limit of {MaxDimension}x{MaxDimension} and {MaxPixels / 1_000_000} megapixels";
        }
        return null;
    }

    /// <param name="format">Prefix of the reason, as the format's other errors have ("PNG", "JPEG", ...).</param>
    public static void ThrowIfInvalid(long width, long height, string sourceName, string format)
    {
        if (Check(width, height) is { } reason)
        {
            throw new ImageDecodeException(sourceName, $"{format}: {reason}") { ExceedsLimits = width >= 1 && height >= 1 };
        }
    }
}
