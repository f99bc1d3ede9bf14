@echo off
rem nestlab: Windows runs this once as SYSTEM when setup has finished,
rem before the first logon. It records that the identity from the config
rem disk is in place and starts the disk's provisioning step, if any.
if not exist "%ProgramData%\nestlab" mkdir "%ProgramData%\nestlab"
echo %DATE% %TIME%> "%ProgramData%\nestlab\setup-complete"
for %%d in (D E F G H I J K L M N O P Q R S T U V W X Y Z) do if exist %%d:\nestlab\provision.cmd (
  call %%d:\nestlab\provision.cmd
  goto :eof
)
