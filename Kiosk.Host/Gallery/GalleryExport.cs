using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kiosk.Host.Gallery;

/// <summary>
/// The export file: a header in clear, then one AES-256-GCM message whose key is PBKDF2-HMAC-SHA256 of the passphrase.
/// <code>
/// offset  size  field
///      0     8  magic "KGALLERY"
///      8     1  format version (1)
///      9     4  PBKDF2 iterations, big-endian
///     13    16  salt (random)
///     29    12  nonce (random)
///     41     n  ciphertext of a UTF-8 JSON document (people, templates, crops)
///   41+n    16  tag; the associated data is the 41 header bytes, so none of them can be changed
/// </code>
/// One message rather than chunks: galleries are megabytes, and a gallery is imported whole or not at all anyway.
/// </summary>
internal static class GalleryExport
{
    /// <summary>OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about a second on a Raspberry Pi 4.</summary>
    public const int Iterations = 600_000;
    /// <summary>Below this an import is refused: no file of ours has fewer, so fewer means a forged header.</summary>
    public const int MinIterations = 210_000;
    /// <summary>Above this an import is refused: a forged header must not make the kiosk spin for hours.</summary>
    public const int MaxIterations = 10_000_000;
    public const int MinPassphraseLength = 8;
    public const int DocumentFormat = 1;
    private const byte FileFormat = 1;
    private const int SaltSize = 16;
    private const int HeaderSize = 8 + 1 + 4 + SaltSize + GalleryCipher.NonceSize;
    private static ReadOnlySpan<byte> Magic => "KGALLERY"u8;

    public sealed record Document(int Format, DateTimeOffset ExportedUtc, PersonEntry[] People);
    public sealed record PersonEntry(string Name, string? ExternalId, string[] Groups, DateTimeOffset? ValidFrom, DateTimeOffset? ValidUntil,
        bool Enabled, DateTimeOffset CreatedUtc, TemplateEntry[] Templates);
    public sealed record TemplateEntry(string ModelName, string ModelHash, float[] Vector, float Quality, string Source,
        DateTimeOffset CreatedUtc, CropEntry? Crop);
    public sealed record CropEntry(byte[] Image, float[] Points, float[] Box);

    public static void CheckPassphrase(string passphrase)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        if (passphrase.Length < MinPassphraseLength)
            throw new ArgumentException($"the export passphrase must have at least {MinPassphraseLength} characters", nameof(passphrase));
    }

    public static void Write(Stream destination, Document document, string passphrase)
    {
        byte[] plain = JsonSerializer.SerializeToUtf8Bytes(document, ExportJsonContext.Default.Document);
        var file = new byte[HeaderSize + plain.Length + GalleryCipher.TagSize];
        var header = file.AsSpan(0, HeaderSize);
        Magic.CopyTo(header);
        header[8] = FileFormat;
        BinaryPrimitives.WriteInt32BigEndian(header[9..], Iterations);
        RandomNumberGenerator.Fill(header.Slice(13, SaltSize + GalleryCipher.NonceSize));
        byte[] key = DeriveKey(passphrase, header.Slice(13, SaltSize), Iterations);
        try
        {
            using var aes = new AesGcm(key, GalleryCipher.TagSize);
            aes.Encrypt(header.Slice(13 + SaltSize, GalleryCipher.NonceSize), plain, file.AsSpan(HeaderSize, plain.Length),
                file.AsSpan(HeaderSize + plain.Length), header);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plain);
        }
        destination.Write(file);
        destination.Flush();
    }

    /// <exception cref="GalleryException">Not an export file, too large, wrong passphrase, or damaged.</exception>
    public static Document Read(Stream source, string passphrase, long maxBytes)
    {
        byte[] file = ReadAll(source, maxBytes);
        if (file.Length < HeaderSize + GalleryCipher.TagSize || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new GalleryException("this is not a kiosk gallery export file");
        if (file[8] != FileFormat)
            throw new GalleryException($"the export file has format {file[8]}; this program reads format {FileFormat}");
        var header = file.AsSpan(0, HeaderSize);
        int iterations = BinaryPrimitives.ReadInt32BigEndian(header[9..]);
        if (iterations is < MinIterations or > MaxIterations)
            throw new GalleryException($"the export file is damaged or forged: {iterations} key iterations, outside {MinIterations}..{MaxIterations}");

        byte[] key = DeriveKey(passphrase, header.Slice(13, SaltSize), iterations);
        int length = file.Length - HeaderSize - GalleryCipher.TagSize;
        byte[] plain = new byte[length];
        try
        {
            using var aes = new AesGcm(key, GalleryCipher.TagSize);
            aes.Decrypt(header.Slice(13 + SaltSize, GalleryCipher.NonceSize), file.AsSpan(HeaderSize, length), file.AsSpan(HeaderSize + length),
                plain, header);
            var document = JsonSerializer.Deserialize(plain, ExportJsonContext.Default.Document);
            if (document is null || document.Format != DocumentFormat || document.People is null)
                throw new GalleryException($"the export file's contents are not a gallery of format {DocumentFormat}");
            return document;
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new GalleryException("the export file does not open: the passphrase is wrong or the file is damaged; nothing was imported");
        }
        catch (JsonException e)
        {
            // Authentic yet unreadable: written by a program with another idea of the format.
            throw new GalleryException($"the export file's contents cannot be read: {e.Message}", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static byte[] ReadAll(Stream source, long maxBytes)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = source.Read(chunk)) > 0)
        {
            if (buffer.Length + n > maxBytes) throw new GalleryException($"the export file is larger than {maxBytes >> 20} MiB");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    private static byte[] DeriveKey(string passphrase, ReadOnlySpan<byte> salt, int iterations)
    {
        byte[] secret = Encoding.UTF8.GetBytes(passphrase);
        try
        {
            return Rfc2898DeriveBytes.Pbkdf2(secret, salt, iterations, HashAlgorithmName.SHA256, GalleryCipher.KeySize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }
}

[JsonSerializable(typeof(GalleryExport.Document))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class ExportJsonContext : JsonSerializerContext;
