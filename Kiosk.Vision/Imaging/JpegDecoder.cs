using System.Buffers;
using System.Buffers.Binary;
using Kiosk.Vision.Interop.TurboJpeg;

namespace Kiosk.Vision.Imaging;

/// <summary>JPEG to upright BGR through libturbojpeg, with EXIF orientation applied.</summary>
internal static class JpegDecoder
{
    /// <summary>
    /// The most pixels one byte of a Huffman-coded JPEG file can stand for, with a fourfold margin. Every 8x8 block
    /// of the component with the largest sampling factors (one block per 64 pixels) costs at least one bit in its
    /// DC scan, as no Huffman code is shorter, so no such file exceeds 512 pixels per byte; baseline also spends an
    /// end-of-block code per block, at most 256. Measured on flat black 4000x3000 images: ffmpeg 4:2:0 170, libjpeg
    /// optimised greyscale 255 (baseline) and 254 (progressive). Headers and metadata only lower the ratio.
    /// </summary>
    /// <remarks>
    /// Arithmetic coding (SOF9..SOF15) has no such floor: libjpeg writes that flat greyscale image in 126 bytes,
    /// 95,000 pixels per byte. Such files are rare but valid, so they are exempt and only the pixel limit bounds them.
    /// </remarks>
    private const int MaxPixelsPerByte = 2048;

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
        // Before the target (and, rotated, a scratch copy) is allocated: a few forged bytes could reserve 300 MB.
        long pixels = (long)header.Width * header.Height;
        if (pixels > (long)data.Length * MaxPixelsPerByte && !IsArithmeticCoded(data))
        {
            throw new ImageDecodeException(sourceName,
                $"JPEG data is truncated: {data.Length} bytes cannot hold the {header.Width}x{header.Height} pixels the header declares " +
                $"(a Huffman-coded JPEG needs a byte per {MaxPixelsPerByte} pixels at least)");
        }

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

    /// <summary>
    /// True when the frame header is SOF9..SOF15 (arithmetic coding). Walks the marker segments up to the first
    /// SOFn; anything malformed answers false, so the stricter check applies.
    /// </summary>
    private static bool IsArithmeticCoded(ReadOnlySpan<byte> jpeg)
    {
        int pos = 2; // after SOI, which DetectFormat has seen
        while (pos + 4 <= jpeg.Length && jpeg[pos] == 0xFF)
        {
            byte marker = jpeg[pos + 1];
            if (marker == 0xFF)
            {
                pos++; // fill byte
                continue;
            }
            if (marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC)) // not DHT, JPG, DAC
            {
                return marker >= 0xC9;
            }
            if (marker is 0xDA or 0xD9)
            {
                return false; // scan or end before any frame header
            }
            if (marker == 0x01 || marker is >= 0xD0 and <= 0xD8)
            {
                pos += 2; // no length field
                continue;
            }
            pos += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.Slice(pos + 2));
        }
        return false;
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
