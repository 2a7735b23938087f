using System.Runtime.InteropServices;
using static Kiosk.Vision.Interop.TurboJpeg.TurboJpegNative;

namespace Kiosk.Vision.Interop.TurboJpeg;

/// <summary>Handle creation and the one status check every TurboJPEG call goes through.</summary>
internal static unsafe class TurboJpeg
{
    internal const string MissingLibraryMessage =
        "The native library libturbojpeg.so.0 could not be loaded. " +
        "Install the Debian package libturbojpeg0 (apt-get install libturbojpeg0).";

    public static TurboJpegHandle CreateDecompressor() => Create(compress: false);

    public static TurboJpegHandle CreateCompressor() => Create(compress: true);

    private static TurboJpegHandle Create(bool compress)
    {
        TurboJpegHandle handle;
        try
        {
            handle = compress ? tjInitCompress() : tjInitDecompress();
        }
        catch (DllNotFoundException e)
        {
            throw new TurboJpegException(MissingLibraryMessage, innerException: e);
        }
        catch (EntryPointNotFoundException e)
        {
            throw new TurboJpegException(
                "libturbojpeg.so.0 lacks the TurboJPEG 2.x API (need libjpeg-turbo 2.1 or later): " + e.Message,
                innerException: e);
        }

        if (handle.IsInvalid)
        {
            handle.Dispose();
            string function = compress ? nameof(tjInitCompress) : nameof(tjInitDecompress);
            throw new TurboJpegException($"{function} failed: {CopyString(tjGetErrorStr2Global(0))}");
        }
        return handle;
    }

    /// <summary>Turns a -1 from <paramref name="function"/> into a <see cref="TurboJpegException"/> with TurboJPEG's text.</summary>
    public static void Check(int result, TurboJpegHandle handle, string function)
    {
        if (result == 0)
        {
            return;
        }
        string message = CopyString(tjGetErrorStr2(handle));
        bool warning = tjGetErrorCode(handle) == TJERR_WARNING;
        throw new TurboJpegException($"{function}: {message}", warning);
    }

    // The string lives in the handle (or thread-local storage): copy it, never free it.
    private static string CopyString(byte* text) =>
        text == null ? "unknown error" : Marshal.PtrToStringUTF8((nint)text) ?? "unknown error";
}

/// <summary>Header fields of a JPEG stream as reported by <c>tjDecompressHeader3</c>.</summary>
internal readonly record struct JpegHeader(int Width, int Height, int Subsampling, int Colorspace);

/// <summary>
/// One TurboJPEG decompressor instance. Not thread-safe: use <see cref="ForCurrentThread"/>, which keeps one per
/// thread so a decode does not pay for creating and destroying the libjpeg state.
/// </summary>
internal sealed unsafe class TurboJpegDecompressor : IDisposable
{
    // Refuse damaged data instead of returning a half-grey picture ("Premature end of JPEG file" is only a
    // warning for libjpeg); accurate IDCT is what OpenCV's imread uses, so pixels match its decode closely.
    private const int DecodeFlags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;

    [ThreadStatic]
    private static TurboJpegDecompressor? t_current;

    private readonly TurboJpegHandle _handle = TurboJpeg.CreateDecompressor();

    // Set after any failed call: TurboJPEG 2.1 returns from a failed tjDecompressHeader3 without aborting the
    // libjpeg state, and the next image on the same handle then fails with "Bogus marker length".
    private bool _failed;

    /// <summary>
    /// The calling thread's decompressor, created on first use and replaced after a failure; its handle is freed
    /// with the thread's objects.
    /// </summary>
    public static TurboJpegDecompressor ForCurrentThread
    {
        get
        {
            TurboJpegDecompressor? current = t_current;
            if (current is null || current._failed)
            {
                current?.Dispose();
                t_current = current = new TurboJpegDecompressor();
            }
            return current;
        }
    }

    public JpegHeader ReadHeader(ReadOnlySpan<byte> jpeg)
    {
        int width, height, subsampling, colorspace;
        fixed (byte* src = jpeg)
        {
            int result = tjDecompressHeader3(_handle, src, new CULong((nuint)jpeg.Length), &width, &height, &subsampling, &colorspace);
            _failed |= result != 0;
            TurboJpeg.Check(result, _handle, nameof(tjDecompressHeader3));
        }
        return new JpegHeader(width, height, subsampling, colorspace);
    }

    /// <summary>Decodes at full size into tightly packed BGR; <paramref name="bgr"/> must hold width*height*3 bytes.</summary>
    public void DecompressBgr(ReadOnlySpan<byte> jpeg, Span<byte> bgr, int width, int height)
    {
        int pitch = checked(width * 3);
        if (bgr.Length < (long)pitch * height)
        {
            throw new ArgumentException("Destination is smaller than width*height*3.", nameof(bgr));
        }
        fixed (byte* src = jpeg)
        fixed (byte* dst = bgr)
        {
            int result = tjDecompress2(_handle, src, new CULong((nuint)jpeg.Length), dst, width, pitch, height, TJPF_BGR, DecodeFlags);
            _failed |= result != 0;
            TurboJpeg.Check(result, _handle, nameof(tjDecompress2));
        }
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>One TurboJPEG compressor instance, for debugging and test images. Not thread-safe.</summary>
internal sealed unsafe class TurboJpegCompressor : IDisposable
{
    private readonly TurboJpegHandle _handle = TurboJpeg.CreateCompressor();

    /// <summary>
    /// Compresses tightly packed BGR; by default with 4:4:4 sampling (no chroma loss: these files are for inspection).
    /// <see cref="TurboJpegNative.TJSAMP_GRAY"/> writes a one-component greyscale JPEG.
    /// </summary>
    public byte[] CompressBgr(ReadOnlySpan<byte> bgr, int width, int height, int quality, int subsampling = TJSAMP_444)
    {
        int pitch = checked(width * 3);
        if (bgr.Length < (long)pitch * height)
        {
            throw new ArgumentException("Source is smaller than width*height*3.", nameof(bgr));
        }
        byte* jpeg = null;
        CULong size = default;
        try
        {
            fixed (byte* src = bgr)
            {
                TurboJpeg.Check(
                    tjCompress2(_handle, src, width, pitch, height, TJPF_BGR, &jpeg, &size, subsampling, quality, TJFLAG_ACCURATEDCT),
                    _handle, nameof(tjCompress2));
            }
            return new ReadOnlySpan<byte>(jpeg, checked((int)size.Value)).ToArray();
        }
        finally
        {
            tjFree(jpeg); // TurboJPEG may have allocated even when it then failed; tjFree(NULL) is a no-op
        }
    }

    public void Dispose() => _handle.Dispose();
}
