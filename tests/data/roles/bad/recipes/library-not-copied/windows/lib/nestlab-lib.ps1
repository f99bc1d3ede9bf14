# A stand-in helper library.
function Find-NestlabMedia { param($Files) return $null }
