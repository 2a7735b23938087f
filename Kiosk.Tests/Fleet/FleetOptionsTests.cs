using Kiosk.Host;
using Kiosk.Host.Fleet;
using Kiosk.Tests.Gallery;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Tests.Fleet;

public sealed class FleetOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-fleet-options").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void The_fleet_is_off_by_default_and_needs_nothing_then()
    {
        var options = FleetOptions.Load(Config());
        Assert.False(options.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(2), options.PollInterval);
        Assert.Equal(1 << 20, options.MaxPayloadBytes);
    }

    [Fact]
    public void Enabled_it_loads_with_a_broker_a_site_and_an_existing_key_file()
    {
        string key = Path.Combine(_dir, "site.key");
        SiteKey.CreateFile(key);
        var options = FleetOptions.Load(Config(("Fleet:Enabled", "true"), ("Fleet:SiteKeyFile", key), ("Fleet:PollInterval", "00:00:05"),
            ("Mqtt:Host", "broker.local"), ("Mqtt:Site", "hq")));
        Assert.True(options.Enabled);
        Assert.Equal(key, options.SiteKeyFile);
        Assert.Equal(TimeSpan.FromSeconds(5), options.PollInterval);
    }

    public static TheoryData<string, string> Errors => new()
    {
        { "Mqtt:Host", "enabled without a broker" },
        { "Mqtt:Site", "enabled without a site" },
        { "Fleet:SiteKeyFile", "enabled without a key" },
        { "Fleet:SiteKeyFile", "enabled with a missing key file" },
        { "Fleet:PollInterval", "a poll interval of 10 ms" },
        { "Fleet:MaxPayloadBytes", "a payload limit of 1 KiB" },
        { "Fleet:Enabled", "enabled = maybe" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void An_unusable_setting_is_refused_naming_its_key(string key, string what)
    {
        string keyFile = Path.Combine(_dir, "site.key");
        SiteKey.CreateFile(keyFile);
        var values = new Dictionary<string, string>
        {
            ["Fleet:Enabled"] = "true", ["Fleet:SiteKeyFile"] = keyFile, ["Mqtt:Host"] = "broker.local", ["Mqtt:Site"] = "hq",
        };
        switch (what)
        {
            case "enabled without a broker": values.Remove("Mqtt:Host"); break;
            case "enabled without a site": values.Remove("Mqtt:Site"); break;
            case "enabled without a key": values.Remove("Fleet:SiteKeyFile"); break;
            case "enabled with a missing key file": values["Fleet:SiteKeyFile"] = Path.Combine(_dir, "nope.key"); break;
            case "a poll interval of 10 ms": values["Fleet:PollInterval"] = "00:00:00.010"; break;
            case "a payload limit of 1 KiB": values["Fleet:MaxPayloadBytes"] = "1024"; break;
            case "enabled = maybe": values["Fleet:Enabled"] = "maybe"; break;
        }
        var e = Assert.Throws<SettingsException>(() => FleetOptions.Load(Config([.. values.Select(v => (v.Key, v.Value))])));
        Assert.Contains(key, e.Message);
    }
}

public sealed class SiteKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-site-key").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_new_key_file_is_private_loads_with_the_same_fingerprint_and_is_never_overwritten()
    {
        string path = Path.Combine(_dir, "keys", "site.key");
        string fingerprint = SiteKey.CreateFile(path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        byte[] before = File.ReadAllBytes(path);
        Assert.Equal(32, Convert.FromBase64String(System.Text.Encoding.ASCII.GetString(before).Trim()).Length);
        using (var key = SiteKey.Load(path)) Assert.Equal(fingerprint, key.Fingerprint);
        var e = Assert.Throws<SiteKeyException>(() => SiteKey.CreateFile(path));
        Assert.Contains("never overwritten", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.NotEqual(fingerprint, SiteKey.CreateFile(Path.Combine(_dir, "other.key")));
    }

    [Fact]
    public void A_key_file_others_can_read_is_refused_and_the_message_never_holds_the_key()
    {
        string path = Path.Combine(_dir, "site.key");
        byte[] key = G.NewKey();
        GalleryDir.WriteKeyFile(path, key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var e = Assert.Throws<SiteKeyException>(() => SiteKey.Load(path));
        Assert.Contains("0640", e.Message);
        Assert.Contains("Fleet:SiteKeyFile", e.Message);
        Assert.DoesNotContain(Convert.ToBase64String(key), e.Message);
    }

    [Theory]
    [InlineData("not base64 at all")]
    [InlineData("AAAA")]
    [InlineData("")]
    public void A_malformed_key_file_is_refused(string content)
    {
        string path = Path.Combine(_dir, "site.key");
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Contains("malformed", Assert.Throws<SiteKeyException>(() => SiteKey.Load(path)).Message);
    }

    [Fact]
    public void A_missing_key_file_is_refused_naming_it()
    {
        string path = Path.Combine(_dir, "missing.key");
        Assert.Contains(path, Assert.Throws<SiteKeyException>(() => SiteKey.Load(path)).Message);
    }
}
