using Kiosk.Vision.Interop.WebP;

namespace Kiosk.Vision.Imaging;

/// <summary>WebP (lossy and lossless, still images) through libwebp, straight into the BGR target.</summary>
/// <remarks>
/// Unlike the other formats there is no check that the data is long enough for the declared size: lossless WebP
/// (VP8L) spends zero bits on a symbol when a Huffman code has only one, so a flat picture costs next to nothing
/// (ffmpeg writes a flat 4000x3000 one in 526 bytes, 22,800 pixels per byte), and a
/// forger can always choose VP8L. A few bytes can therefore reserve the largest picture <see cref="ImageLimits"/>
/// allows (150 MB here, plus libwebp's own 4 bytes per pixel for lossless); that limit is what bounds WebP.
/// </remarks>
internal static unsafe class WebPDecoder
{
    public static bool HasSignature(ReadOnlySpan<byte> data) =>
        data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8);

    public static void Decode(ReadOnlySpan<byte> data, string sourceName, BgrImage target)
    {
        int width, height;
        try
        {
            fixed (byte* p = data)
            {
                if (WebPNative.WebPGetInfo(p, (nuint)data.Length, &width, &height) == 0)
                    throw new ImageDecodeException(sourceName, "WebP: header is damaged, or the file is an animation");
                ImageLimits.ThrowIfInvalid(width, height, sourceName, "WebP");
                target.Reset(width, height);
                fixed (byte* o = target.Buffer)
                {
                    if (WebPNative.WebPDecodeBGRInto(p, (nuint)data.Length, o, (nuint)target.Pixels.Length, target.Stride) == null)
                        throw new ImageDecodeException(sourceName, "WebP: image data is damaged or truncated");
                }
            }
        }
        catch (DllNotFoundException e)
        {
            throw new ImageDecodeException(sourceName,
                $"WebP support needs {WebPNative.LibraryName} (Debian package libwebp7), which cannot be loaded", e);
        }
    }
}
