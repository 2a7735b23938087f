using Kiosk.Host;
using Kiosk.Host.Gallery;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Tests.Gallery;

public sealed class GalleryOptionsTests
{
    private static GalleryOptions Load(params (string Key, string Value)[] values) =>
        GalleryOptions.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void Missing_settings_take_the_documented_defaults()
    {
        var o = Load();
        // In the kiosk's state folder: /var/lib/kiosk for the service (KIOSK_STATE_DIR), the user's data folder otherwise.
        Assert.Equal(Path.Combine(KioskSettings.StateDir, "gallery.db"), o.DatabasePath);
        Assert.Equal(Path.Combine(KioskSettings.StateDir, "gallery.key"), o.KeyPath);
        Assert.True(o.KeepCrops);
        Assert.Equal(5, o.MaxTemplatesPerPerson);
    }

    [Fact]
    public void Settings_are_read_from_the_Gallery_section()
    {
        var o = Load(("Gallery:DatabasePath", "/srv/g.db"), ("Gallery:KeyPath", "/srv/g.key"), ("Gallery:KeepCrops", "false"), ("Gallery:MaxTemplatesPerPerson", "3"));
        Assert.Equal(new GalleryOptions { DatabasePath = "/srv/g.db", KeyPath = "/srv/g.key", KeepCrops = false, MaxTemplatesPerPerson = 3 }, o);
    }

    [Theory]
    [InlineData("Gallery:MaxTemplatesPerPerson", "0", "Gallery:MaxTemplatesPerPerson")]
    [InlineData("Gallery:MaxTemplatesPerPerson", "many", "Gallery:MaxTemplatesPerPerson")]
    [InlineData("Gallery:KeepCrops", "perhaps", "Gallery:KeepCrops")]
    [InlineData("Gallery:DatabasePath", "/tmp", "Gallery:DatabasePath")]
    public void An_invalid_value_is_refused_naming_its_key(string key, string value, string named)
    {
        var e = Assert.Throws<SettingsException>(() => Load((key, value)));
        Assert.Contains(named, e.Message);
    }

    [Theory]
    [InlineData("", "/k", "Gallery:DatabasePath")]
    [InlineData("/d", " ", "Gallery:KeyPath")]
    public void Validate_names_an_empty_path(string db, string key, string named)
    {
        var e = Assert.Throws<SettingsException>(() => new GalleryOptions { DatabasePath = db, KeyPath = key }.Validate());
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Open_validates_the_options_first()
    {
        var e = Assert.Throws<SettingsException>(() => GalleryStore.Open(new GalleryOptions { DatabasePath = "/tmp/x.db", KeyPath = "/tmp/x.key", MaxTemplatesPerPerson = -1 }));
        Assert.Contains("Gallery:MaxTemplatesPerPerson", e.Message);
        Assert.False(File.Exists("/tmp/x.key"));
    }

    [Fact]
    public void A_key_file_that_is_the_database_itself_is_refused()
    {
        var e = Assert.Throws<SettingsException>(() => Load(("Gallery:DatabasePath", "/srv/g.db"), ("Gallery:KeyPath", "/srv/g.db")));
        Assert.Contains("Gallery:KeyPath", e.Message);
    }
}
