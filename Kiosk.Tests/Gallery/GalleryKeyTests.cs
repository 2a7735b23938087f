using System.Security.Cryptography;
using Kiosk.Host.Gallery;

namespace Kiosk.Tests.Gallery;

public sealed class GalleryKeyTests : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly GalleryDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_first_run_creates_a_base64_key_file_readable_by_its_owner_only_in_a_private_directory()
    {
        string nested = Path.Combine(_dir.Root, "var", "lib", "kiosk");
        var options = new GalleryOptions { DatabasePath = Path.Combine(nested, "gallery.db"), KeyPath = Path.Combine(nested, "keys", "gallery.key") };
        using (GalleryStore.Open(options, null, _ => null)) { }

        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(options.KeyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(options.KeyPath)!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(nested));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_dir.Root, "var")));
        // The database holds names in clear: private too.
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(options.DatabasePath));
        string text = File.ReadAllText(options.KeyPath);
        Assert.EndsWith("\n", text);
        Assert.Equal(32, Convert.FromBase64String(text.Trim()).Length);
    }

    [Fact]
    public void A_wrong_key_is_refused_naming_its_source_but_not_the_key()
    {
        using (var store = _dir.Open()) store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        byte[] other = G.NewKey();
        GalleryDir.WriteKeyFile(_dir.KeyPath, other);

        var e = Assert.Throws<GalleryKeyException>(() => _dir.Open());
        Assert.Contains("does not open this gallery", e.Message);
        Assert.Contains(_dir.KeyPath, e.Message);
        Assert.DoesNotContain(Convert.ToBase64String(other), e.Message);
    }

    [Fact]
    public void A_missing_key_for_an_existing_gallery_is_refused_and_no_new_key_is_made()
    {
        using (var store = _dir.Open()) store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        File.Delete(_dir.KeyPath);
        byte[] before = File.ReadAllBytes(_dir.DatabasePath);

        var e = Assert.Throws<GalleryKeyException>(() => _dir.Open());
        Assert.Contains("cannot be opened without its key", e.Message);
        Assert.Contains("will NOT be generated", e.Message);
        Assert.False(File.Exists(_dir.KeyPath));
        Assert.Equal(before, File.ReadAllBytes(_dir.DatabasePath));
    }

    [Fact]
    public void A_WAL_file_left_without_its_database_also_counts_as_an_existing_gallery()
    {
        File.WriteAllBytes(_dir.DatabasePath + "-wal", [1, 2, 3]);
        var e = Assert.Throws<GalleryKeyException>(() => _dir.Open());
        Assert.Contains("will NOT be generated", e.Message);
        Assert.False(File.Exists(_dir.KeyPath));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead, "0640")]
    [InlineData(UnixFileMode.OtherRead, "0604")]
    [InlineData(UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead, "0664")]
    public void A_key_file_others_can_read_is_refused(UnixFileMode extra, string mode)
    {
        using (_dir.Open()) { }
        File.SetUnixFileMode(_dir.KeyPath, OwnerReadWrite | extra);

        var e = Assert.Throws<GalleryKeyException>(() => _dir.Open());
        Assert.Contains(mode, e.Message);
        Assert.Contains($"chmod 600 {_dir.KeyPath}", e.Message);

        File.SetUnixFileMode(_dir.KeyPath, UnixFileMode.UserRead);
        using (_dir.Open()) { } // 0400 is fine
    }

    [Theory]
    [InlineData("not base64 at all!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==")] // 16 bytes
    [InlineData("")]
    public void A_malformed_key_file_is_refused(string content)
    {
        using (var f = new FileStream(_dir.KeyPath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerReadWrite }))
            f.Write(System.Text.Encoding.ASCII.GetBytes(content));
        var e = Assert.Throws<GalleryKeyException>(() => _dir.Open());
        Assert.Contains("malformed", e.Message);
        Assert.False(File.Exists(_dir.DatabasePath));
    }

    [Fact]
    public void A_key_file_made_beforehand_is_used_for_a_new_gallery()
    {
        byte[] key = G.NewKey();
        GalleryDir.WriteKeyFile(_dir.KeyPath, key);
        using (_dir.Open()) { }
        Assert.Equal(key, Convert.FromBase64String(File.ReadAllText(_dir.KeyPath).Trim()));
    }

    [Fact]
    public void The_environment_key_overrides_the_file_and_no_key_file_is_made_for_it()
    {
        byte[] key = G.NewKey();
        _dir.Environment["KIOSK_GALLERY_KEY"] = Convert.ToBase64String(key);
        using (var store = _dir.Open()) store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        Assert.False(File.Exists(_dir.KeyPath));

        // A key file with another key is ignored while the variable is set...
        GalleryDir.WriteKeyFile(_dir.KeyPath, G.NewKey());
        using (var store = _dir.Open()) Assert.Single(store.ListPeople());
        // ...and is the wrong key without it.
        _dir.Environment.Clear();
        Assert.Throws<GalleryKeyException>(() => _dir.Open());
        // The right key in the file works.
        GalleryDir.WriteKeyFile(_dir.KeyPath, key);
        using (var store = _dir.Open()) Assert.Equal(G.Vector(1), store.LoadTemplates(G.Model, G.Hash)[0].Vector);
    }

    [Fact]
    public void A_wrong_or_malformed_environment_key_is_refused_naming_the_variable()
    {
        using (_dir.Open()) { }
        string wrong = Convert.ToBase64String(G.NewKey());
        _dir.Environment["KIOSK_GALLERY_KEY"] = wrong;
        var e = Assert.Throws<GalleryKeyException>(() => _dir.Open());
        Assert.Contains("KIOSK_GALLERY_KEY", e.Message);
        Assert.DoesNotContain(wrong, e.Message);

        _dir.Environment["KIOSK_GALLERY_KEY"] = "c2hvcnQ=";
        e = Assert.Throws<GalleryKeyException>(() => _dir.Open());
        Assert.Contains("KIOSK_GALLERY_KEY", e.Message);
        Assert.Contains("malformed", e.Message);
    }

    [Fact]
    public void A_key_from_another_gallery_does_not_open_this_one()
    {
        using var other = new GalleryDir();
        using (other.Open()) { }
        using (_dir.Open()) { }
        File.Copy(other.KeyPath, _dir.KeyPath, overwrite: true);
        Assert.Throws<GalleryKeyException>(() => _dir.Open());
    }
}

// Sets the process's real KIOSK_GALLERY_KEY: nothing may run beside it.
[Collection(Kiosk.Tests.Inference.IsolatedCollection.Name)]
public sealed class GalleryEnvironmentKeyTests
{
    [Fact]
    public void The_public_Open_reads_KIOSK_GALLERY_KEY_from_the_process_environment()
    {
        using var dir = new GalleryDir();
        string? saved = Environment.GetEnvironmentVariable("KIOSK_GALLERY_KEY");
        try
        {
            Environment.SetEnvironmentVariable("KIOSK_GALLERY_KEY", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            using (var store = GalleryStore.Open(dir.Options())) store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
            Assert.False(File.Exists(dir.KeyPath));
            using (var store = GalleryStore.Open(dir.Options())) Assert.Single(store.ListPeople());

            Environment.SetEnvironmentVariable("KIOSK_GALLERY_KEY", null);
            Assert.Throws<GalleryKeyException>(() => GalleryStore.Open(dir.Options()));
        }
        finally
        {
            Environment.SetEnvironmentVariable("KIOSK_GALLERY_KEY", saved);
        }
    }
}
