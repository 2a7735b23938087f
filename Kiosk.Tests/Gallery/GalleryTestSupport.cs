using System.Buffers.Binary;
using System.Security.Cryptography;
using Kiosk.Host.Gallery;
using Microsoft.Data.Sqlite;

namespace Kiosk.Tests.Gallery;

/// <summary>A temporary folder for one gallery and its key, deleted afterwards; opens stores with a private environment.</summary>
internal sealed class GalleryDir : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("kiosk-gallery").FullName;
    public string DatabasePath => Path.Combine(Root, "gallery.db");
    public string KeyPath => Path.Combine(Root, "gallery.key");

    /// <summary>The environment the store sees; empty unless a test sets KIOSK_GALLERY_KEY here.</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public GalleryOptions Options(int maxTemplates = 5, bool keepCrops = true) => new()
    {
        DatabasePath = DatabasePath,
        KeyPath = KeyPath,
        MaxTemplatesPerPerson = maxTemplates,
        KeepCrops = keepCrops,
    };

    public GalleryStore Open(GalleryOptions? options = null) =>
        GalleryStore.Open(options ?? Options(), null, name => Environment.GetValueOrDefault(name));

    /// <summary>A plain SQLite connection to the file, as someone with a copy but without the key would have.</summary>
    public SqliteConnection Raw(bool readOnly = false)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        db.Open();
        return db;
    }

    /// <summary>The bytes of the database file and of its WAL (when there is one), read beside an open store.</summary>
    public byte[] FileBytes()
    {
        var all = new List<byte>();
        foreach (string path in new[] { DatabasePath, DatabasePath + "-wal" })
        {
            if (!File.Exists(path)) continue;
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[f.Length];
            f.ReadExactly(buffer);
            all.AddRange(buffer);
        }
        return [.. all];
    }

    public static void WriteKeyFile(string path, byte[] key, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        using var f = new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode });
        f.Write(System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Root, recursive: true);
    }
}

internal static class G
{
    public const string Model = "arcface-r100";
    public const string Hash = "sha256:1111";

    /// <summary>A deterministic unit vector; distinct seeds give distinct vectors.</summary>
    public static float[] Vector(int seed, int dim = 128)
    {
        var rng = new Random(seed);
        var v = new float[dim];
        double norm = 0;
        for (int i = 0; i < dim; i++) { v[i] = (float)(rng.NextDouble() * 2 - 1); norm += v[i] * v[i]; }
        for (int i = 0; i < dim; i++) v[i] = (float)(v[i] / Math.Sqrt(norm));
        return v;
    }

    public static TemplateDraft Template(int seed, float quality = 0.8f, string model = Model, string hash = Hash, int dim = 128, FaceCrop? crop = null) =>
        new(model, hash, Vector(seed, dim), quality, $"test:{seed}", crop);

    public static FaceCrop Crop(int seed)
    {
        var image = new byte[3000];
        new Random(seed).NextBytes(image);
        image[0] = 0xFF; image[1] = 0xD8; // looks like a JPEG start; the store does not care
        return new FaceCrop(image, [.. Enumerable.Range(0, 10).Select(i => seed + i * 1.5f)], [1f, 2f, 111f, 112f]);
    }

    public static byte[] LittleEndian(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    public static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    public static long Count(SqliteConnection db, string table)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM {table}";
        return (long)cmd.ExecuteScalar()!;
    }

    public static object? Scalar(SqliteConnection db, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return cmd.ExecuteScalar();
    }

    public static void Execute(SqliteConnection db, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        cmd.ExecuteNonQuery();
    }
}
