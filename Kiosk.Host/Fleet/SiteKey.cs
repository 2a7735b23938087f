using System.Buffers.Text;
using System.Security.Cryptography;
using Kiosk.Host.Gallery;

namespace Kiosk.Host.Fleet;

/// <summary>The site key file is missing, malformed, readable beyond its owner, or cannot be written. Never carries the key.</summary>
public sealed class SiteKeyException(string message) : Exception(message);

/// <summary>
/// The AES-256-GCM key every kiosk of a site shares for the fleet gallery (docs/mqtt/gallery.md). File format, as for
/// the gallery key: base64 of 32 random bytes, one line, surrounding whitespace ignored, mode 0600. A file that group
/// or others can access is refused rather than warned about: whoever reads it can read and forge the site's gallery.
/// </summary>
/// <remarks>Thread safety: <see cref="Seal"/> and <see cref="TryOpen"/> may be called from any thread (each call uses
/// its own AesGcm instance; AesGcm itself is not documented as thread-safe).</remarks>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SiteKey : IDisposable
{
    public const int Size = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    private const int MaxFileBytes = 1024;
    private const UnixFileMode OthersMask = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly byte[] _key;
    private bool _disposed;

    /// <summary>
    /// A short digest of the key, safe to log and show: kiosks of one site must show the same one. (A one-way hash of
    /// 256 random bits reveals nothing of them.)
    /// </summary>
    public string Fingerprint { get; }

    private SiteKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size) throw new ArgumentException($"a site key has {Size} bytes, not {key.Length}", nameof(key));
        _key = key.ToArray();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("kiosk-gallery site key fingerprint\n"u8);
        hash.AppendData(key);
        Fingerprint = Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    /// <summary>A key from its 32 bytes (copied).</summary>
    public static SiteKey FromBytes(ReadOnlySpan<byte> key) => new(key);

    /// <summary>Reads the key file.</summary>
    /// <exception cref="SiteKeyException">missing, unreadable, malformed, or accessible to group or others</exception>
    public static SiteKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string where = $"the site key file {path} ({FleetOptions.Section}:SiteKeyFile)";
        byte[] text;
        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & OthersMask) != 0)
                throw new SiteKeyException($"{where} has mode {Octal(mode)}, accessible beyond its owner; whoever reads it can read and forge " +
                                           $"the site's gallery: chmod 600 {path} (and consider the key exposed if others could log in)");
            if (new FileInfo(path).Length > MaxFileBytes)
                throw new SiteKeyException($"{where} is malformed: base64 of {Size} bytes is expected");
            text = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SiteKeyException($"{where} cannot be read: {e.Message}");
        }
        Span<byte> key = stackalloc byte[MaxFileBytes];
        try
        {
            var trimmed = text.AsSpan().Trim(" \t\r\n"u8);
            if (Base64.DecodeFromUtf8(trimmed, key, out int consumed, out int written) != System.Buffers.OperationStatus.Done
                || consumed != trimmed.Length || written != Size)
                throw new SiteKeyException($"{where} is malformed: it must be base64 of {Size} bytes (make one with `kiosk fleet new-key --out FILE`)");
            return new SiteKey(key[..Size]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>Writes a new random key to <paramref name="path"/>, mode 0600 from the first byte; never over an existing file.</summary>
    /// <returns>The new key's fingerprint.</returns>
    /// <exception cref="SiteKeyException">the file exists or cannot be written</exception>
    public static string CreateFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] key = RandomNumberGenerator.GetBytes(Size);
        byte[] text = System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n");
        try
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null) GalleryKeyFile.CreatePrivateDirectory(directory);
            using (var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                file.Write(text);
                file.Flush(flushToDisk: true);
            }
            using var made = new SiteKey(key);
            return made.Fingerprint;
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new SiteKeyException($"{path} already exists; a site key is never overwritten (the site's kiosks would no longer agree)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SiteKeyException($"a site key file cannot be created at {path}: {e.Message}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>Encrypts with a fresh random nonce; returns the nonce and <c>ciphertext | tag</c>.</summary>
    internal (byte[] Nonce, byte[] Sealed) Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] nonce = RandomNumberGenerator.GetBytes(NonceSize);
        byte[] sealedBytes = new byte[plaintext.Length + TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(0, plaintext.Length), sealedBytes.AsSpan(plaintext.Length), associatedData);
        return (nonce, sealedBytes);
    }

    /// <summary>The plaintext, or null when <paramref name="sealedBytes"/> was not sealed with this key, nonce and associated data.</summary>
    internal byte[]? TryOpen(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (nonce.Length != NonceSize || sealedBytes.Length < TagSize) return null;
        var plaintext = new byte[sealedBytes.Length - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        try
        {
            aes.Decrypt(nonce, sealedBytes[..plaintext.Length], sealedBytes[plaintext.Length..], plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0xFFF, 8);

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }
}
