using Kiosk.Vision.Imaging;

namespace Kiosk.Tests.Imaging;

public sealed class ImageLimitsTests
{
    [Theory]
    [InlineData(7071, 7071, true)] // 49.998 MP
    [InlineData(16384, 3051, true)] // 49.987 MP at the widest allowed
    [InlineData(7072, 7071, false)] // 50.006 MP
    [InlineData(10000, 5001, false)]
    [InlineData(16385, 1, false)]
    [InlineData(1, 16385, false)]
    public void At_most_50_megapixels_and_16384_on_a_side_are_accepted(int width, int height, bool accepted) =>
        Assert.Equal(accepted, ImageLimits.Check(width, height) is null);

    [Fact]
    public void The_largest_accepted_image_fits_in_150_megabytes_as_bgr() =>
        Assert.True(ImageLimits.MaxPixels * 3 <= 150_000_000);
}
