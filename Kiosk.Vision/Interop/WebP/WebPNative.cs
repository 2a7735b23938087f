using System.Runtime.InteropServices;

namespace Kiosk.Vision.Interop.WebP;

/// <summary>
/// The two calls of libwebp's simple decoding API we use, from <c>src/webp/decode.h</c> (stable since libwebp 0.1;
/// Debian libwebp7 ships 1.2.x). Both are pure functions of the input buffer: nothing to own or release.
/// </summary>
internal static unsafe partial class WebPNative
{
    public const string LibraryName = "libwebp.so.7";

    /// <summary>int WebPGetInfo(const uint8_t* data, size_t data_size, int* width, int* height): 1 on success.</summary>
    [LibraryImport(LibraryName)]
    public static partial int WebPGetInfo(byte* data, nuint dataSize, int* width, int* height);

    /// <summary>
    /// uint8_t* WebPDecodeBGRInto(const uint8_t* data, size_t data_size, uint8_t* output_buffer,
    /// size_t output_buffer_size, int output_stride): returns output_buffer, or NULL on error. Alpha is dropped.
    /// </summary>
    [LibraryImport(LibraryName)]
    public static partial byte* WebPDecodeBGRInto(byte* data, nuint dataSize, byte* output, nuint outputSize, int outputStride);
}
