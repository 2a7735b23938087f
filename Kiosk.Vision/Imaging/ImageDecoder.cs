using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Kiosk.Vision.Imaging;

/// <summary>
/// Decodes JPEG (libturbojpeg, EXIF orientation applied), PNG, WebP (libwebp) and PGM/PPM into <see cref="BgrImage"/>.
/// Every problem with the data, including a missing file, is an <see cref="ImageDecodeException"/>.
/// </summary>
/// <remarks>
/// Thread-safe: each thread keeps its own TurboJPEG decompressor. If libturbojpeg.so.0 itself cannot be loaded,
/// a <see cref="Interop.TurboJpeg.TurboJpegException"/> says which Debian package to install.
/// </remarks>
public static class ImageDecoder
{
    /// <summary>Files above this size are refused before reading: no image we accept needs more.</summary>
    private const long MaxFileBytes = 1L << 30;

    public static BgrImage Decode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[]? rented = null;
        try
        {
            int length = ReadFile(path, ref rented);
            return Decode(rented.AsSpan(0, length), path);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public static BgrImage Decode(ReadOnlySpan<byte> data, string sourceName)
    {
        var image = new BgrImage();
        DecodeInto(data, sourceName, image);
        return image;
    }

    /// <summary>
    /// Decodes into <paramref name="target"/>, reusing its buffer when large enough. On failure the target's size
    /// and pixels are unspecified.
    /// </summary>
    public static void DecodeInto(ReadOnlySpan<byte> data, string sourceName, BgrImage target)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(target);
        if (data.IsEmpty)
        {
            throw new ImageDecodeException(sourceName, "empty data");
        }
        switch (DetectFormat(data))
        {
            case ImageFormat.Jpeg:
                JpegDecoder.Decode(data, sourceName, target);
                break;
            case ImageFormat.Png:
                PngDecoder.Decode(data, sourceName, target);
                break;
            case ImageFormat.Pnm:
                PnmDecoder.Decode(data, sourceName, target);
                break;
            case ImageFormat.WebP:
                WebPDecoder.Decode(data, sourceName, target);
                break;
            default:
                throw new ImageDecodeException(sourceName, DescribeUnsupported(data));
        }
    }

    // Names the common formats we do not read, since files are often misnamed.
    private static string DescribeUnsupported(ReadOnlySpan<byte> data)
    {
        string? name =
            data.StartsWith("GIF8"u8) ? "GIF"
            : data.StartsWith("BM"u8) ? "BMP"
            : data.StartsWith("II*\0"u8) || data.StartsWith("MM\0*"u8) ? "TIFF"
            : null;
        string head = Convert.ToHexString(data.Slice(0, Math.Min(8, data.Length)));
        return name is not null
            ? $"unsupported format {name} (only JPEG, PNG, WebP and PGM/PPM are read)"
            : $"unknown format (not JPEG, PNG, WebP or PGM/PPM; first bytes {head})";
    }

    public static ImageFormat DetectFormat(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }
        if (PngDecoder.HasSignature(data))
        {
            return ImageFormat.Png;
        }
        if (WebPDecoder.HasSignature(data))
        {
            return ImageFormat.WebP;
        }
        return PnmDecoder.HasMagic(data) ? ImageFormat.Pnm : ImageFormat.Unknown;
    }

    private static int ReadFile(string path, ref byte[]? rented)
    {
        try
        {
            using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = RandomAccess.GetLength(file);
            if (length > MaxFileBytes)
            {
                throw new ImageDecodeException(path, $"file is {length} bytes, more than the {MaxFileBytes} accepted");
            }
            // Pooled: repeated decodes of files do not churn the large object heap.
            rented = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
            int total = 0;
            while (total < length)
            {
                int n = RandomAccess.Read(file, rented.AsSpan(total, (int)length - total), total);
                if (n == 0)
                {
                    break; // file shrank while reading: decode what is there, the format checks catch truncation
                }
                total += n;
            }
            return total;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageDecodeException(path, "file not found", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ImageDecodeException(path, $"cannot read file: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new ImageDecodeException(path, $"cannot read file: {e.Message}", e);
        }
    }
}
