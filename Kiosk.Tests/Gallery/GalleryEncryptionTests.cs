using System.Text;
using Kiosk.Host.Gallery;

namespace Kiosk.Tests.Gallery;

public sealed class GalleryEncryptionTests : IDisposable
{
    private readonly GalleryDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_copy_of_the_file_without_the_key_holds_no_vector_or_crop_in_clear()
    {
        const string name = "Wilhelmina Cleartextova";
        float[] vector = G.Vector(77);
        var crop = G.Crop(77);
        using (var store = _dir.Open())
        {
            store.Enroll(new PersonDraft(name), [new TemplateDraft(G.Model, G.Hash, vector, 0.9f, "test", crop)]);
            AssertNoPlaintext(_dir.FileBytes()); // while open: the data is in the WAL
        }
        byte[] closed = _dir.FileBytes();   // after close: checkpointed into the database file
        AssertNoPlaintext(closed);
        // The search would have found it: the name is stored in clear, on purpose.
        Assert.True(G.Contains(closed, Encoding.UTF8.GetBytes(name)));

        // What plain SQLite gives a thief: nonce, ciphertext and tag, not floats.
        using var raw = _dir.Raw(readOnly: true);
        var blob = (byte[])G.Scalar(raw, "SELECT vector FROM templates")!;
        Assert.Equal(12 + vector.Length * 4 + 16, blob.Length);
        Assert.False(G.Contains(blob, G.LittleEndian(vector.AsSpan(0, 4))));
        var cropBlob = (byte[])G.Scalar(raw, "SELECT data FROM crops")!;
        Assert.False(G.Contains(cropBlob, crop.Image.AsSpan(0, 32)));

        void AssertNoPlaintext(byte[] file)
        {
            byte[] floats = G.LittleEndian(vector);
            // Any four consecutive values would give the vector away; none may be there.
            for (int i = 0; i + 16 <= floats.Length; i += 4)
                Assert.False(G.Contains(file, floats.AsSpan(i, 16)), $"vector bytes at value {i / 4} found in the file");
            for (int i = 0; i + 32 <= crop.Image.Length; i += 512)
                Assert.False(G.Contains(file, crop.Image.AsSpan(i, 32)), $"crop bytes at {i} found in the file");
            Assert.False(G.Contains(file, G.LittleEndian(crop.Points)));
        }
    }

    [Fact]
    public void After_remove_and_vacuum_neither_file_holds_the_persons_name_or_ciphertext()
    {
        const string name = "Quentin Removeme-Zarathustra";
        const string externalId = "GONE-4711";
        using var store = _dir.Open();
        var gone = store.Enroll(new PersonDraft(name, externalId, ["vanishing-group"]),
            [G.Template(1, crop: G.Crop(1)), G.Template(2, crop: G.Crop(2))]);
        var stays = store.Enroll(new PersonDraft("Stays Here"), [G.Template(3, crop: G.Crop(3))]);

        var secrets = new List<byte[]> { Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(externalId), Encoding.UTF8.GetBytes("vanishing-group") };
        using (var raw = _dir.Raw(readOnly: true))
        {
            foreach (long id in store.TemplatesOf(gone.Id).Select(t => t.Id))
            {
                secrets.Add(((byte[])G.Scalar(raw, "SELECT vector FROM templates WHERE id = $id", ("$id", id))!)[..48]);
                secrets.Add(((byte[])G.Scalar(raw, "SELECT data FROM crops WHERE template_id = $id", ("$id", id))!)[..48]);
            }
        }
        // Everything searched for is there to begin with, so a miss later means it is gone, not that the search is blind.
        byte[] before = _dir.FileBytes();
        Assert.All(secrets, s => Assert.True(G.Contains(before, s)));

        Assert.True(store.RemovePerson(gone.Id));
        store.Vacuum();

        Assert.True(new FileInfo(_dir.DatabasePath + "-wal") is { Exists: false } or { Length: 0 });
        byte[] after = _dir.FileBytes();
        Assert.All(secrets, s => Assert.False(G.Contains(after, s)));
        // The other person is intact.
        Assert.Equal(G.Vector(3), Assert.Single(store.LoadTemplates(G.Model, G.Hash)).Vector);
        Assert.Equal(stays.Id, Assert.Single(store.LoadCrops()).PersonId);
    }

    [Fact]
    public void Secure_delete_zeroes_a_removed_person_in_the_database_file_even_before_vacuum()
    {
        const string name = "Zeroed By-Secure-Delete";
        using var store = _dir.Open();
        var gone = store.Enroll(new PersonDraft(name), [G.Template(1, crop: G.Crop(1))]);
        store.Enroll(new PersonDraft("Stays Here"), [G.Template(2)]);
        store.Checkpoint();
        byte[] cropCiphertext;
        using (var raw = _dir.Raw(readOnly: true))
            cropCiphertext = ((byte[])G.Scalar(raw, "SELECT data FROM crops")!)[..48];
        byte[] file = File.ReadAllBytes(_dir.DatabasePath);
        Assert.True(G.Contains(file, Encoding.UTF8.GetBytes(name)));
        Assert.True(G.Contains(file, cropCiphertext));

        store.RemovePerson(gone.Id);
        store.Checkpoint();
        file = File.ReadAllBytes(_dir.DatabasePath);
        Assert.False(G.Contains(file, Encoding.UTF8.GetBytes(name)));
        Assert.False(G.Contains(file, cropCiphertext)); // its overflow pages went to the free list, zeroed
    }

    [Fact]
    public void A_vector_blob_moved_to_another_row_does_not_decrypt()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        var eve = store.Enroll(new PersonDraft("Eve"), [G.Template(2)]);
        long adaTemplate = store.TemplatesOf(ada.Id)[0].Id, eveTemplate = store.TemplatesOf(eve.Id)[0].Id;

        // Eve gives her face to Ada's row: swap the blobs.
        using (var raw = _dir.Raw())
            G.Execute(raw, """
                UPDATE templates SET vector = CASE id WHEN $a THEN (SELECT vector FROM templates WHERE id = $e)
                                                      ELSE (SELECT vector FROM templates WHERE id = $a) END
                WHERE id IN ($a, $e)
                """, ("$a", adaTemplate), ("$e", eveTemplate));

        var e = Assert.Throws<GalleryException>(() => store.LoadTemplates(G.Model, G.Hash));
        Assert.Contains("does not decrypt", e.Message);
    }

    [Fact]
    public void A_template_moved_to_another_person_or_model_does_not_decrypt()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        var eve = store.Enroll(new PersonDraft("Eve"), [G.Template(2)]);
        long eveTemplate = store.TemplatesOf(eve.Id)[0].Id;

        using (var raw = _dir.Raw())
            G.Execute(raw, "UPDATE templates SET person_id = $a WHERE id = $t", ("$a", ada.Id), ("$t", eveTemplate));
        Assert.Throws<GalleryException>(() => store.TemplatesOf(ada.Id));

        using (var raw = _dir.Raw())
            G.Execute(raw, "UPDATE templates SET person_id = $e, model_hash = 'sha256:other' WHERE id = $t", ("$e", eve.Id), ("$t", eveTemplate));
        Assert.Throws<GalleryException>(() => store.LoadTemplates(G.Model, "sha256:other"));
    }

    [Fact]
    public void A_crop_moved_to_another_template_does_not_decrypt()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1, crop: G.Crop(1)), G.Template(2)]);
        var templates = store.TemplatesOf(ada.Id);
        using (var raw = _dir.Raw())
            G.Execute(raw, "UPDATE crops SET template_id = $to WHERE template_id = $from", ("$to", templates[1].Id), ("$from", templates[0].Id));
        Assert.Throws<GalleryException>(() => store.LoadCrops());
    }

    [Fact]
    public void A_flipped_bit_in_a_vector_blob_is_detected()
    {
        using var store = _dir.Open();
        store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        using (var raw = _dir.Raw())
        {
            var blob = (byte[])G.Scalar(raw, "SELECT vector FROM templates")!;
            blob[40] ^= 1;
            G.Execute(raw, "UPDATE templates SET vector = $v", ("$v", blob));
        }
        Assert.Throws<GalleryException>(() => store.LoadTemplates(G.Model, G.Hash));
    }
}
