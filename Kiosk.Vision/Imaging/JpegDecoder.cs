using System.Buffers;
using Kiosk.Vision.Interop.TurboJpeg;

namespace Kiosk.Vision.Imaging;

/// <summary>JPEG to upright BGR through libturbojpeg, with EXIF orientation applied.</summary>
internal static class JpegDecoder
{
    public static void Decode(ReadOnlySpan<byte> data, string sourceName, BgrImage target)
    {
        // A missing libturbojpeg surfaces as TurboJpegException, not ImageDecodeException: it is not the file's fault.
        TurboJpegDecompressor decompressor = TurboJpegDecompressor.ForCurrentThread;
        JpegHeader header;
        try
        {
            header = decompressor.ReadHeader(data);
        }
        catch (TurboJpegException e)
        {
            throw new ImageDecodeException(sourceName, $"invalid JPEG header ({e.Message})", e);
        }
        ImageLimits.ThrowIfInvalid(header.Width, header.Height, sourceName, "JPEG");

        int orientation = ExifOrientation.Read(data);
        if (orientation == ExifOrientation.Normal)
        {
            target.Reset(header.Width, header.Height);
            Decompress(decompressor, data, target.Pixels, header, sourceName);
            return;
        }

        // Rotations cannot be done in place without a scratch image; rented, so a decode loop still does not allocate.
        int size = header.Width * header.Height * 3;
        byte[] scratch = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            Decompress(decompressor, data, scratch.AsSpan(0, size), header, sourceName);
            ExifOrientation.Apply(orientation, scratch.AsSpan(0, size), header.Width, header.Height, target);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static void Decompress(TurboJpegDecompressor decompressor, ReadOnlySpan<byte> data, Span<byte> bgr, JpegHeader header, string sourceName)
    {
        try
        {
            decompressor.DecompressBgr(data, bgr, header.Width, header.Height);
        }
        catch (TurboJpegException e)
        {
            string kind = e.IsWarning ? "JPEG data is truncated or damaged" : "JPEG data is corrupt or unsupported";
            throw new ImageDecodeException(sourceName, $"{kind} ({e.Message})", e);
        }
    }
}
