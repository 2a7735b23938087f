using System.Buffers.Binary;
using System.Text;
using Kiosk.Host.Gallery;

namespace Kiosk.Tests.Gallery;

public sealed class GalleryExportTests : IDisposable
{
    private const string Passphrase = "correct horse battery staple";
    private static readonly DateTimeOffset From = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Until = new(2025, 9, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly GalleryDir _source = new();
    private readonly GalleryDir _target = new();

    public void Dispose()
    {
        _source.Dispose();
        _target.Dispose();
    }

    /// <summary>Ada (ExternalId, groups, validity, two models, a crop) and Bob (nothing optional).</summary>
    private byte[] ExportTwoPeople(out Person ada, out Person bob)
    {
        using var store = _source.Open();
        ada = store.Enroll(new PersonDraft("Ada", "E-1", ["staff", "night"], From, Until, Enabled: false),
            [G.Template(1, 0.9f, crop: G.Crop(1)), G.Template(2, 0.7f), G.Template(3, 0.5f, model: "other", dim: 32)]);
        bob = store.Enroll(new PersonDraft("Bob"), [G.Template(4, 0.6f)]);
        var file = new MemoryStream();
        store.Export(file, Passphrase);
        return file.ToArray();
    }

    [Fact]
    public void A_gallery_moves_to_another_kiosk_with_another_key_intact()
    {
        byte[] file = ExportTwoPeople(out var ada, out var bob);

        using var target = _target.Open();
        Assert.NotEqual(File.ReadAllText(_source.KeyPath), File.ReadAllText(_target.KeyPath));
        var result = target.Import(new MemoryStream(file), Passphrase);

        Assert.Equal(new ImportResult(PeopleAdded: 2, PeopleUpdated: 0, TemplatesAdded: 4), result);
        var people = target.ListPeople();
        Assert.Equal(["Ada", "Bob"], people.Select(p => p.Name));
        var ada2 = people[0];
        Assert.Equal((ada.ExternalId, ada.ValidFrom, ada.ValidUntil, ada.Enabled, ada.CreatedUtc), (ada2.ExternalId, ada2.ValidFrom, ada2.ValidUntil, ada2.Enabled, ada2.CreatedUtc));
        Assert.Equal(["night", "staff"], ada2.Groups);
        Assert.Equal(target.Revision, ada2.Revision);

        Assert.Equal([G.Vector(1), G.Vector(2), G.Vector(4)], target.LoadTemplates(G.Model, G.Hash).Select(t => t.Vector));
        Assert.Equal([0.9f, 0.7f, 0.6f], target.LoadTemplates(G.Model, G.Hash).Select(t => t.Quality));
        Assert.Equal(G.Vector(3, 32), Assert.Single(target.LoadTemplates("other", G.Hash)).Vector);
        var crop = Assert.Single(target.LoadCrops());
        Assert.Equal(ada2.Id, crop.PersonId);
        Assert.Equal(G.Crop(1).Image, crop.Crop.Image);
        Assert.Equal(G.Crop(1).Points, crop.Crop.Points);
        Assert.Equal(G.Crop(1).Box, crop.Crop.Box);
        using (var source = _source.Open())
            Assert.Equal(source.TemplatesOf(bob.Id).Select(t => (t.Source, t.CreatedUtc)), target.TemplatesOf(people[1].Id).Select(t => (t.Source, t.CreatedUtc)));
    }

    [Fact]
    public void The_export_file_holds_no_name_vector_or_crop_in_clear_and_a_strong_key_derivation()
    {
        byte[] file = ExportTwoPeople(out _, out _);
        Assert.Equal("KGALLERY"u8.ToArray(), file[..8]);
        Assert.True(BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(9)) >= 210_000);
        Assert.False(G.Contains(file, Encoding.UTF8.GetBytes("Ada")));
        Assert.False(G.Contains(file, Encoding.UTF8.GetBytes("E-1")));
        Assert.False(G.Contains(file, G.LittleEndian(G.Vector(1).AsSpan(0, 4))));
        Assert.False(G.Contains(file, Encoding.UTF8.GetBytes(G.Vector(1)[0].ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        Assert.False(G.Contains(file, G.Crop(1).Image.AsSpan(0, 32)));
    }

    [Fact]
    public void Importing_again_updates_people_with_an_ExternalId_and_does_not_double_their_templates()
    {
        byte[] first = ExportTwoPeople(out var ada, out _);
        using var target = _target.Open();
        target.Import(new MemoryStream(first), Passphrase);

        // The source renames Ada and gives her one more template, then exports again.
        byte[] second;
        using (var source = _source.Open())
        {
            source.UpdatePerson(ada.Id, new PersonDraft("Ada King", "E-1", ["board"]));
            source.AddTemplates(ada.Id, [G.Template(5, 0.8f)]);
            var file = new MemoryStream();
            source.Export(file, Passphrase);
            second = file.ToArray();
        }
        long revision = target.Revision;
        var result = target.Import(new MemoryStream(second), Passphrase);

        // Ada is matched by ExternalId; Bob has none, so he can only be added again.
        Assert.Equal(new ImportResult(PeopleAdded: 1, PeopleUpdated: 1, TemplatesAdded: 2), result);
        Assert.Equal(revision + 1, target.Revision);
        var ada2 = target.FindByExternalId("E-1")!;
        Assert.Equal("Ada King", ada2.Name);
        Assert.Equal(["board"], ada2.Groups);
        Assert.Null(ada2.ValidFrom);
        Assert.True(ada2.Enabled);
        Assert.Equal(4, target.TemplatesOf(ada2.Id).Count);
        Assert.Equal(3, target.ListPeople().Count);
    }

    [Fact]
    public void A_wrong_passphrase_is_a_GalleryException_and_imports_nothing()
    {
        byte[] file = ExportTwoPeople(out _, out _);
        using var target = _target.Open();
        target.Enroll(new PersonDraft("Already here"), [G.Template(9)]);
        long revision = target.Revision;

        var e = Assert.Throws<GalleryException>(() => target.Import(new MemoryStream(file), "Correct horse battery staple"));
        Assert.Contains("passphrase", e.Message);
        Assert.Single(target.ListPeople());
        Assert.Single(target.LoadTemplates(G.Model, G.Hash));
        Assert.Equal(revision, target.Revision);
    }

    [Theory]
    [InlineData("flip-ciphertext")]
    [InlineData("flip-tag")]
    [InlineData("flip-salt")]
    [InlineData("iterations")]
    [InlineData("truncate")]
    [InlineData("magic")]
    [InlineData("empty")]
    public void A_damaged_export_file_is_a_GalleryException_and_imports_nothing(string damage)
    {
        byte[] file = ExportTwoPeople(out _, out _);
        switch (damage)
        {
            case "flip-ciphertext": file[100] ^= 0x20; break;
            case "flip-tag": file[^1] ^= 1; break;
            case "flip-salt": file[20] ^= 1; break;
            case "iterations": BinaryPrimitives.WriteInt32BigEndian(file.AsSpan(9), 1000); break;
            case "truncate": file = file[..(file.Length / 2)]; break;
            case "magic": file[0] = (byte)'X'; break;
            case "empty": file = []; break;
        }
        using var target = _target.Open();
        Assert.Throws<GalleryException>(() => target.Import(new MemoryStream(file), Passphrase));
        Assert.Empty(target.ListPeople());
        Assert.Equal(0, target.Revision);
    }

    [Fact]
    public void An_import_failing_midway_changes_nothing()
    {
        byte[] file = ExportTwoPeople(out _, out _);
        using var target = _target.Open();
        // Model "other" has 16 values here; Ada's "other" template in the file has 32 and comes after her person row
        // and her two arcface templates are written.
        target.Enroll(new PersonDraft("Local"), [G.Template(9, model: "other", dim: 16)]);
        long revision = target.Revision;

        var e = Assert.Throws<GalleryException>(() => target.Import(new MemoryStream(file), Passphrase));
        Assert.Contains("32", e.Message);
        Assert.Equal(["Local"], target.ListPeople().Select(p => p.Name));
        Assert.Empty(target.LoadTemplates(G.Model, G.Hash));
        Assert.Empty(target.LoadCrops());
        Assert.Equal(revision, target.Revision);
    }

    [Fact]
    public void A_short_passphrase_is_an_argument_error()
    {
        using var store = _source.Open();
        Assert.Throws<ArgumentException>(() => store.Export(new MemoryStream(), "short"));
    }
}
