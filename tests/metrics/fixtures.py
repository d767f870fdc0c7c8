"""Fixture captions for the metric tests (COCO-like, several references per image)."""

HYPS = [
    "a red circle on a white background",
    "two blue squares next to each other",
    "a green triangle",
    "",
    "a large yellow star above a small red circle",
    "circle",
    "a photo of a dog's ball, which isn't red.",
    "a black-and-white picture of three shapes at 3.5 a.m.",
    "a a a a a a",
    "the small purple square is left of the big orange circle",
]
REFS = [
    ["a red circle on white", "red circle in the middle of a white image", "a circle that is red"],
    ["two blue squares side by side", "a pair of blue squares"],
    [
        "a small green triangle",
        "green triangle on a gray background",
        "a triangle",
        "a green shape",
    ],
    ["a blue circle", "one circle"],
    ["a yellow star above a red circle", "a star and a circle", "a big star over a small circle"],
    ["a single circle", "a circle in the center"],
    ["a dog's red ball", "the ball of a dog isn't blue", "a ball"],
    ["three shapes in black and white", "a black-and-white image with three shapes"],
    ["a a", "an image"],
    ["a small purple square left of a big orange circle", "a purple square and an orange circle"],
]
