namespace Kiosk.Vision.Imaging;

/// <summary>Size bounds applied before any pixel buffer is allocated, so a forged header cannot exhaust memory.</summary>
internal static class ImageLimits
{
    public const int MaxDimension = 16384;
    public const long MaxPixels = 100_000_000;

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
            throw new ImageDecodeException(sourceName, $"{format}: {reason}");
        }
    }
}
