using Kiosk.Host;
using Kiosk.Host.Mqtt;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Tests.Mqtt;

public sealed class MqttOptionsTests
{
    private static MqttOptions Load(params (string Key, string Value)[] values) => MqttOptions.Load(
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Defaults_are_port_1883_mqtt_311_keepalive_30s_and_backoff_1_to_60s()
    {
        var o = Load(("Mqtt:Host", "broker"), ("Mqtt:ClientId", "kiosk-1"));
        Assert.Equal(1883, o.Port);
        Assert.Equal(311, o.ProtocolVersion);
        Assert.Equal(TimeSpan.FromSeconds(30), o.KeepAlive);
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60)), (o.ReconnectMin, o.ReconnectMax));
        Assert.False(o.UseTls);
    }

    [Theory]
    [InlineData("Mqtt:Host", "", "Mqtt:Host")]
    [InlineData("Mqtt:Port", "70000", "Mqtt:Port")]
    [InlineData("Mqtt:ProtocolVersion", "4", "Mqtt:ProtocolVersion")]
    [InlineData("Mqtt:KeepAlive", "00:00:01", "Mqtt:KeepAlive")]
    [InlineData("Mqtt:ReconnectMax", "00:00:00.5", "Mqtt:ReconnectMax")]
    [InlineData("Mqtt:CaFile", "/nonexistent/ca.pem", "Mqtt:CaFile")]
    [InlineData("Mqtt:CertFile", "/nonexistent/c.pem", "Mqtt:KeyFile")]
    [InlineData("Mqtt:WillTopic", "kiosk/#", "Mqtt:WillTopic")]
    public void An_invalid_value_is_refused_naming_its_key(string key, string value, string named)
    {
        var pairs = new Dictionary<string, string> { ["Mqtt:Host"] = "broker", ["Mqtt:ClientId"] = "kiosk-1", [key] = value };
        var e = Assert.Throws<SettingsException>(() => Load([.. pairs.Select(p => (p.Key, p.Value))]));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void A_password_without_a_user_name_is_refused_without_showing_the_password()
    {
        var e = Assert.Throws<SettingsException>(() => Load(("Mqtt:Host", "broker"), ("Mqtt:ClientId", "k"), ("Mqtt:Password", "hunter2-secret")));
        Assert.Contains("Mqtt:Username", e.Message);
        Assert.DoesNotContain("hunter2-secret", e.Message);
    }

    [Fact]
    public void The_text_form_of_the_options_never_shows_the_password()
    {
        var o = new MqttOptions { Host = "b", ClientId = "k", Username = "u", Password = "hunter2-secret" };
        Assert.DoesNotContain("hunter2-secret", o.ToString());
    }

    [Fact]
    public void The_password_may_come_from_a_file_of_its_own_and_a_missing_or_empty_one_is_named()
    {
        string dir = Directory.CreateTempSubdirectory("kiosk-mqtt-pw").FullName;
        try
        {
            string file = Path.Combine(dir, "mqtt-password");
            File.WriteAllText(file, "hunter2-secret\n");
            var o = Load(("Mqtt:Host", "broker"), ("Mqtt:ClientId", "k"), ("Mqtt:Username", "kiosk"), ("Mqtt:PasswordFile", file));
            Assert.Equal("hunter2-secret", o.Password);

            File.WriteAllText(file, "\n");
            Assert.Contains("Mqtt:PasswordFile", Assert.Throws<SettingsException>(() =>
                Load(("Mqtt:Host", "broker"), ("Mqtt:ClientId", "k"), ("Mqtt:Username", "kiosk"), ("Mqtt:PasswordFile", file))).Message);
            Assert.Contains("Mqtt:PasswordFile", Assert.Throws<SettingsException>(() =>
                Load(("Mqtt:Host", "broker"), ("Mqtt:ClientId", "k"), ("Mqtt:Username", "kiosk"), ("Mqtt:PasswordFile", Path.Combine(dir, "none")))).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
