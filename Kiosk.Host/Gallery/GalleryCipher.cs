using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Kiosk.Host.Gallery;

/// <summary>
/// AES-256-GCM for the gallery's blobs. A blob is <c>nonce (12) | ciphertext | tag (16)</c> with a fresh random
/// nonce each time. The associated data binds a blob to its row, so a blob copied into another row (another
/// template, another person, another model) does not open. The formats below are on disk since schema 1:
/// <list type="bullet">
/// <item>template: plaintext = the vector as little-endian float32; associated data =
///   UTF-8 <c>"kiosk-gallery\ntemplate\n{id}\n{personId}\n{modelName}\n{modelHash}"</c></item>
/// <item>crop (schema 2): plaintext = byte 1, 10 + 4 little-endian float32 (points, box), then the image bytes;
///   associated data = UTF-8 <c>"kiosk-gallery\ncrop\n{templateId}\n{personId}"</c></item>
/// <item>key check: plaintext = UTF-8 <c>"kiosk-gallery key check"</c>; associated data = UTF-8 <c>"kiosk-gallery\nkey-check"</c></item>
/// </list>
/// Model names contain no control characters (validated), so the newline-joined associated data is unambiguous.
/// </summary>
internal sealed class GalleryCipher : IDisposable
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int Overhead = NonceSize + TagSize;
    private const byte CropFormat = 1;

    public static ReadOnlySpan<byte> KeyCheckPlaintext => "kiosk-gallery key check"u8;
    public static ReadOnlySpan<byte> KeyCheckAad => "kiosk-gallery\nkey-check"u8;

    private readonly AesGcm _aes;

    public GalleryCipher(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize) throw new ArgumentException($"the gallery key must be {KeySize} bytes", nameof(key));
        _aes = new AesGcm(key, TagSize);
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var blob = new byte[Overhead + plaintext.Length];
        var nonce = blob.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plaintext, blob.AsSpan(NonceSize, plaintext.Length), blob.AsSpan(NonceSize + plaintext.Length), associatedData);
        return blob;
    }

    /// <summary>The plaintext, or null when the blob is not one sealed with this key for this associated data.</summary>
    public byte[]? TryOpen(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData)
    {
        if (blob.Length < Overhead) return null;
        var plaintext = new byte[blob.Length - Overhead];
        try
        {
            _aes.Decrypt(blob[..NonceSize], blob.Slice(NonceSize, plaintext.Length), blob[^TagSize..], plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    public static byte[] TemplateAad(long templateId, long personId, string modelName, string modelHash) =>
        Encoding.UTF8.GetBytes($"kiosk-gallery\ntemplate\n{templateId}\n{personId}\n{modelName}\n{modelHash}");

    public static byte[] CropAad(long templateId, long personId) =>
        Encoding.UTF8.GetBytes($"kiosk-gallery\ncrop\n{templateId}\n{personId}");

    public static byte[] EncodeVector(ReadOnlySpan<float> vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (int i = 0; i < vector.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        return bytes;
    }

    public static float[] DecodeVector(ReadOnlySpan<byte> bytes)
    {
        var vector = new float[bytes.Length / sizeof(float)];
        for (int i = 0; i < vector.Length; i++) vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
        return vector;
    }

    public static byte[] EncodeCrop(FaceCrop crop)
    {
        const int floats = GalleryValidation.CropPoints + GalleryValidation.CropBox;
        var bytes = new byte[1 + floats * sizeof(float) + crop.Image.Length];
        bytes[0] = CropFormat;
        var span = bytes.AsSpan(1);
        foreach (float f in crop.Points.Concat(crop.Box))
        {
            BinaryPrimitives.WriteSingleLittleEndian(span, f);
            span = span[sizeof(float)..];
        }
        crop.Image.CopyTo(span);
        return bytes;
    }

    /// <summary>The crop, or null when the plaintext is not in the crop format.</summary>
    public static FaceCrop? DecodeCrop(ReadOnlySpan<byte> bytes)
    {
        const int floats = GalleryValidation.CropPoints + GalleryValidation.CropBox;
        if (bytes.Length < 1 + floats * sizeof(float) || bytes[0] != CropFormat) return null;
        var values = DecodeVector(bytes.Slice(1, floats * sizeof(float)));
        return new FaceCrop(bytes[(1 + floats * sizeof(float))..].ToArray(),
            values[..GalleryValidation.CropPoints], values[GalleryValidation.CropPoints..]);
    }

    public void Dispose() => _aes.Dispose();
}
