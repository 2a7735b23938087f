using Kiosk.Vision.Imaging;

namespace Kiosk.Tests.Imaging;

public sealed class BgrImageTests
{
    [Fact]
    public void New_image_has_a_tightly_packed_buffer()
    {
        var image = new BgrImage(5, 3);

        Assert.Equal((5, 3, 15), (image.Width, image.Height, image.Stride));
        Assert.Equal(45, image.Buffer.Length);
        Assert.Equal(45, image.Pixels.Length);
    }

    [Fact]
    public void Row_is_a_window_on_the_buffer()
    {
        var image = new BgrImage(4, 3);

        image.Row(2)[1] = 77;

        Assert.Equal(12, image.Row(2).Length);
        Assert.Equal(77, image.Buffer[2 * 12 + 1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => image.Row(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => image.Row(-1));
    }

    [Fact]
    public void Reset_to_a_smaller_size_keeps_the_buffer()
    {
        var image = new BgrImage(10, 10);
        byte[] buffer = image.Buffer;

        image.Reset(3, 7);

        Assert.Same(buffer, image.Buffer);
        Assert.Equal((3, 7, 9), (image.Width, image.Height, image.Stride));
        Assert.Equal(63, image.Pixels.Length);
    }

    [Fact]
    public void Reset_to_a_larger_size_grows_the_buffer()
    {
        var image = new BgrImage(2, 2);

        image.Reset(20, 10);

        Assert.Equal(600, image.Buffer.Length);
        Assert.Equal(600, image.Pixels.Length);
    }

    [Fact]
    public void Clone_is_an_independent_exact_size_copy()
    {
        var image = new BgrImage(10, 10);
        image.Reset(2, 2);
        image.Pixels.Fill(9);

        BgrImage copy = image.Clone();
        image.Pixels.Fill(1);

        Assert.Equal((2, 2), (copy.Width, copy.Height));
        Assert.Equal(12, copy.Buffer.Length);
        Assert.All(copy.Pixels.ToArray(), b => Assert.Equal(9, b));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(-1, 5)]
    [InlineData(50000, 50000)]
    public void Invalid_sizes_are_argument_errors(int width, int height)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BgrImage(width, height));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BgrImage(1, 1).Reset(width, height));
    }
}
