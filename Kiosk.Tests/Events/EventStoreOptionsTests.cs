using Kiosk.Host;
using Kiosk.Host.Events;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Tests.Events;

public sealed class EventStoreOptionsTests
{
    private static EventStoreOptions Load(params (string Key, string Value)[] values) =>
        EventStoreOptions.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void Missing_settings_take_the_documented_defaults()
    {
        var o = Load();
        Assert.Equal(Path.Combine(KioskSettings.StateDir, "events.db"), o.DatabasePath);
        Assert.False(o.KeepSnapshots);   // no face image is stored unless configured
        Assert.Equal(1000, o.SnapshotRetention);
        Assert.Equal(1_000_000, o.MaxUnsentEvents);
    }

    [Fact]
    public void The_events_file_sits_beside_the_gallery_in_the_state_folder()
    {
        Assert.Equal(Path.GetDirectoryName(Kiosk.Host.Gallery.GalleryOptions.DefaultDatabasePath), Path.GetDirectoryName(Load().DatabasePath));
    }

    [Fact]
    public void The_shipped_appsettings_file_has_the_Events_section_with_the_defaults()
    {
        var config = new ConfigurationBuilder().AddJsonFile(Path.Combine(TestPaths.RepoRoot, "config", "appsettings.json")).Build();
        Assert.Equal("", config["Events:DatabasePath"]);
        Assert.Equal(Load(), EventStoreOptions.Load(config));
        Assert.Equal(Load(), KioskSettings.Load(config).Events);
    }

    [Fact]
    public void Settings_are_read_from_the_Events_section()
    {
        var o = Load(("Events:DatabasePath", "/srv/e.db"), ("Events:KeepSnapshots", "true"), ("Events:SnapshotRetention", "50"), ("Events:MaxUnsentEvents", "5000000"));
        Assert.Equal(new EventStoreOptions { DatabasePath = "/srv/e.db", KeepSnapshots = true, SnapshotRetention = 50, MaxUnsentEvents = 5_000_000 }, o);
    }

    [Theory]
    [InlineData("Events:SnapshotRetention", "0")]
    [InlineData("Events:SnapshotRetention", "lots")]
    [InlineData("Events:MaxUnsentEvents", "-1")]
    [InlineData("Events:MaxUnsentEvents", "1e6")]
    [InlineData("Events:KeepSnapshots", "sometimes")]
    [InlineData("Events:DatabasePath", "/tmp")]
    public void An_invalid_value_is_refused_naming_its_key(string key, string value)
    {
        var e = Assert.Throws<SettingsException>(() => Load((key, value)));
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Validate_names_an_empty_path()
    {
        var e = Assert.Throws<SettingsException>(() => new EventStoreOptions { DatabasePath = " " }.Validate());
        Assert.Contains("Events:DatabasePath", e.Message);
    }

    [Fact]
    public void The_gallery_file_cannot_be_the_event_log()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gallery:DatabasePath"] = "/srv/kiosk/gallery.db",
            ["Events:DatabasePath"] = "/srv/kiosk/../kiosk/gallery.db",
        }).Build();
        var e = Assert.Throws<SettingsException>(() => KioskSettings.Load(config));
        Assert.Contains("Events:DatabasePath", e.Message);
    }
}
