using Kiosk.Host;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Tests.Host;

// One test sets a process-wide environment variable and the static config folder: nothing may run beside it.
[Collection(Kiosk.Tests.Inference.IsolatedCollection.Name)]
public sealed class KioskSettingsTests
{
    private static KioskSettings Load(params (string Key, string Value)[] values) =>
        KioskSettings.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void Missing_settings_take_the_documented_defaults()
    {
        var s = Load();
        Assert.Equal(2, s.Inference.Threads);
        Assert.False(s.Inference.AllowSpinning);
        Assert.Equal("default", s.Embedder);
        Assert.Null(s.DetectorMinScore);
        Assert.Equal(0.65f, s.DetectorSpec().ScoreThreshold); // fr_detect's own
    }

    [Fact]
    public void The_shipped_appsettings_file_is_valid_and_matches_the_defaults()
    {
        var config = new ConfigurationBuilder().AddJsonFile(Path.Combine(TestPaths.RepoRoot, "config", "appsettings.json")).Build();
        Assert.Equal(Load(), KioskSettings.Load(config));
    }

    [Theory]
    [InlineData("Inference:Threads", "lots", "Inference:Threads")]
    [InlineData("Inference:Threads", "99", "Inference:Threads")]
    [InlineData("Models:DetectorMinScore", "1.5", "Models:DetectorMinScore")]
    [InlineData("Inference:AllowSpinning", "maybe", "Inference:AllowSpinning")]
    [InlineData("OnnxRuntime:LibraryPath", "/nonexistent/libonnxruntime.so.1", "OnnxRuntime:LibraryPath")]
    [InlineData("OpenVino:LibraryPath", "/nonexistent/libopenvino_c.so", "OpenVino:LibraryPath")]
    [InlineData("Inference:Backend", "tensorrt", "Inference:Backend")]
    [InlineData("Inference:Device", "myriad", "Inference:Device")]
    [InlineData("Inference:Fallback", "perhaps", "Inference:Fallback")]
    [InlineData("Models:Detector", "yolo", "Models:Detector")]
    [InlineData("Models:Landmarks", "dlib", "Models:Landmarks")]
    [InlineData("Models:Precision", "INT4", "Models:Precision")]
    [InlineData("Models:Mirror", "ftp://mirror/", "Models:Mirror")]
    public void An_invalid_value_is_refused_naming_its_key(string key, string value, string named)
    {
        var e = Assert.Throws<SettingsException>(() => Load((key, value)));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Environment_variables_override_the_files()
    {
        string dir = Directory.CreateTempSubdirectory("kiosk-settings").FullName;
        string saved = KioskSettings.SystemConfigDir;
        try
        {
            File.WriteAllText(Path.Combine(dir, "10-site.json"), """{ "Inference": { "Threads": 1 }, "Models": { "DetectorMinScore": 0.5 } }""");
            File.WriteAllText(Path.Combine(dir, "20-door.json"), """{ "Models": { "DetectorMinScore": 0.7 } }""");
            KioskSettings.SystemConfigDir = dir;
            Environment.SetEnvironmentVariable("KIOSK__Inference__Threads", "3");
            var s = KioskSettings.Load(KioskSettings.BuildConfiguration());
            Assert.Equal(3, s.Inference.Threads);      // environment over files
            Assert.Equal(0.7f, s.DetectorMinScore);    // later file over earlier
        }
        finally
        {
            Environment.SetEnvironmentVariable("KIOSK__Inference__Threads", null);
            KioskSettings.SystemConfigDir = saved;
            Directory.Delete(dir, true);
        }
    }
}
