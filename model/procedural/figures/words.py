"""The words for people, animals and what they do: nouns to rigs, verbs to the figures' verbs."""

from __future__ import annotations


def _each(value: str, words: str) -> dict[str, str]:
    return dict.fromkeys(words.split(), value)


PEOPLE: dict[str, str] = {
    **_each("adult", "man men woman women person people guy guys lady ladies gentleman adult adults someone somebody "
        "character figure figures player players athlete athletes gymnast gymnasts runner runners dancer dancers "
        "chef cook surfer swimmer swimmers diver skater skier cyclist boxer juggler golfer climber astronaut "
        "mom mum dad father mother grandma grandpa grandmother grandfather teacher student students waiter "
        "worker farmer doctor policeman firefighter soldier magician acrobat jogger hiker fisherman mailman "
        "skateboarder snowboarder goalkeeper pitcher catcher batter referee"),
    **_each("child", "boy boys girl girls kid kids child children toddler toddlers baby babies son daughter brother "
        "sister teenager teen"),
}  # fmt: skip
ANIMALS: dict[str, str] = {
    **_each("cat", "cat cats kitten kittens kitty tabby"),
    **_each("dog", "dog dogs puppy puppies pup retriever labrador poodle corgi husky terrier beagle bulldog sheepdog"),
    **_each("horse", "horse horses pony ponies stallion mare foal donkey"),
    **_each("bird", "bird birds pigeon pigeons seagull seagulls gull parrot sparrow robin crow eagle owl duck ducks "
        "swan chicken hen penguin"),
    # Animals without a rig of their own use the nearest body plan, scaled; the caption says so.
    **_each("cat", "rabbit bunny squirrel mouse rat hamster fox frog"),
    **_each("dog", "wolf bear lion tiger pig sheep goat deer monkey"),
    **_each("horse", "cow cows bull camel zebra elephant giraffe moose"),
}  # fmt: skip
STAND_IN_ANIMALS = frozenset(
    _each("", "rabbit bunny squirrel mouse rat hamster fox frog wolf bear lion tiger pig sheep goat deer monkey "
          "cow cows bull camel zebra elephant giraffe moose")
)  # fmt: skip
# Rig kinds stood in for by another body plan, with its scale: a bear is a big dog.
BODY_PLAN_SCALE: dict[str, float] = {
    "rabbit": 0.7, "bunny": 0.7, "squirrel": 0.6, "mouse": 0.3, "rat": 0.35, "hamster": 0.3, "fox": 1.4, "frog": 0.4,
    "wolf": 1.3, "bear": 2.0, "lion": 1.8, "tiger": 1.8, "pig": 1.0, "sheep": 1.1, "goat": 1.0, "deer": 1.4,
    "monkey": 0.8, "cow": 1.0, "cows": 1.0, "bull": 1.1, "camel": 1.2, "zebra": 0.95, "elephant": 1.7,
    "giraffe": 1.5, "moose": 1.2, "pony": 0.7, "ponies": 0.7, "foal": 0.6, "donkey": 0.75, "kitten": 0.7,
    "kittens": 0.7, "puppy": 0.6, "puppies": 0.6, "pup": 0.6, "toddler": 0.8, "toddlers": 0.8, "baby": 0.6,
    "babies": 0.6, "teenager": 1.3, "teen": 1.3, "penguin": 2.5, "swan": 1.8, "eagle": 1.6, "chicken": 1.3, "hen": 1.3,
}  # fmt: skip
VERBS: dict[str, str] = {
    **_each("walk", "walk walks walking walked strolls strolling wanders wandering steps marches paces"),
    **_each("run", "run runs running ran jogs jogging sprints sprinting races racing gallops galloping chases chasing "
        "dashes rushes trots trotting"),
    **_each("jump", "jump jumps jumping jumped leaps leaping leapt hops hopping pounces bounds springs"),
    **_each("climb", "climb climbs climbing climbed clambers scrambles"),
    **_each("throw", "throw throws throwing threw tosses tossing hurls flings pitches lobs"),
    **_each("kick", "kick kicks kicking kicked punts"),
    **_each("catch", "catch catches catching caught grabs fetches"),
    **_each("wave", "wave waves waving waved"),
    **_each("dance", "dance dances dancing danced twirls spins spinning grooves"),
    **_each("fall", "fall falls falling fell trips tripping slips slipping stumbles collapses"),
    **_each("sit", "sit sits sitting sat"),
    **_each("swim", "swim swims swimming swam paddles paddling"),
    **_each("backflip", "backflip backflips back-flip somersault somersaults flip flips flipping cartwheel cartwheels"),
    **_each("fly", "fly flies flying flew soars soaring glides flaps"),
    **_each("stand", "stand stands standing stood waits waiting watches watching"),
}  # fmt: skip
# Phrases whose words would otherwise be split: "does a backflip", "jumps into", "climbs onto".
PHRASES: dict[str, str] = {
    "does a backflip": "backflip", "does a flip": "backflip", "does a somersault": "backflip",
    "does a cartwheel": "backflip", "jumps onto": "jump", "jumps into": "jump", "jumps on": "jump",
    "climbs onto": "climb", "climbs up": "climb", "splashes into": "run", "runs into": "run", "dives into": "jump",
    "falls over": "fall", "sits down": "sit", "sits on": "sit",
}  # fmt: skip
# Pronouns that stand for the figure already in the scene ("now he catches it").
PRONOUNS = frozenset({"he", "she", "him", "her", "they", "his", "hers"})
